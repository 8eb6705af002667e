// The account an activity input acts for, and whether a stored resource may serve it. The input
// names the account; a destination, connection or mapping of another account must never serve it,
// or one account's event would be signed or shaped under another's configuration (issue 10).

interface AccountInput {
  accountId?: string;
  event: { account_id: string };
}

/** Inputs scheduled before accountId existed carry the account on the event, which ingest set from the API key. */
export const inputAccount = (input: AccountInput): string => input.accountId ?? input.event.account_id;

/** Whether a resource owned by `owner` may serve this input: the input's account and its event's are both the owner. */
export function ownedByInputAccount(input: AccountInput, owner: string): boolean {
  const accountId = inputAccount(input);
  return owner === accountId && input.event.account_id === accountId;
}
