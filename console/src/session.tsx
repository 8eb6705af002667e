import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { VoiceoiApiError, call, client, setCsrfToken, type Session } from './api.ts';
import { ErrorBox, Field } from './ui.tsx';

/** The signed-in session, or null when there is none (401). */
export function useSession() {
  return useQuery({
    queryKey: ['session'],
    queryFn: async (): Promise<Session | null> => {
      try {
        const s = await call(client.GET('/v1/session'));
        setCsrfToken(s.csrf_token);
        return s;
      } catch (err) {
        if (err instanceof VoiceoiApiError && err.status === 401) {
          setCsrfToken(null);
          return null;
        }
        throw err;
      }
    },
    staleTime: 60_000,
    retry: false,
  });
}

export function SignIn() {
  const qc = useQueryClient();
  const [key, setKey] = useState('');
  const signIn = useMutation({
    mutationFn: (apiKey: string) => call(client.POST('/v1/session', { body: { api_key: apiKey } })),
    onSuccess: async () => {
      setKey('');
      await qc.invalidateQueries({ queryKey: ['session'] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (key.trim()) signIn.mutate(key.trim());
  };
  return (
    <main className="signin">
      <form onSubmit={submit} className="card" aria-labelledby="signin-title">
        <h1 id="signin-title">VoiceOI Hooks</h1>
        <p className="muted">Sign in with your account's API key. It is exchanged for a session and not kept in this browser.</p>
        <Field label="API key">
          {(id) => <input id={id} type="password" autoComplete="off" spellCheck={false} value={key} onChange={(e) => setKey(e.target.value)} required autoFocus />}
        </Field>
        <ErrorBox error={signIn.error} />
        <button type="submit" className="primary" disabled={signIn.isPending}>
          {signIn.isPending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

export function useSignOut() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => call(client.DELETE('/v1/session')),
    onSettled: () => {
      setCsrfToken(null);
      qc.clear();
      qc.setQueryData(['session'], null);
    },
  });
}
