import { startReceiver, type Receiver } from './receiver.ts';
import { startStack, type Stack } from './stack.ts';

/** A stack with a receiver standing in for the CRM and one account: what most delivery tests start with. */
export interface DeliveryStack extends Stack {
  receiver: Receiver;
  account: { id: string; api_key: string };
}

/** startStack (its worker running), a receiver and an account; stop() closes the receiver too. */
export async function startDeliveryStack(env: Record<string, string> = {}): Promise<DeliveryStack> {
  const stack = await startStack(env);
  const receiver = await startReceiver();
  const account = await stack.createAccount();
  const stopStack = stack.stop;
  return Object.assign(stack, {
    receiver,
    account,
    async stop() {
      await receiver.close();
      await stopStack();
    },
  });
}
