import { useQuery } from '@tanstack/react-query';
import { call, client } from './api.ts';

// Server state shared by several pages; mutations invalidate these keys.
export const useDestinations = () =>
  useQuery({ queryKey: ['destinations'], queryFn: ({ signal }) => call(client.GET('/v1/destinations', { signal })).then((r) => r.items) });

export const useMappings = () =>
  useQuery({ queryKey: ['mappings'], queryFn: ({ signal }) => call(client.GET('/v1/mappings', { signal })).then((r) => r.items) });

export const useConnections = () =>
  useQuery({ queryKey: ['connections'], queryFn: ({ signal }) => call(client.GET('/v1/connections', { signal })).then((r) => r.items) });

export const useEventTypes = () =>
  useQuery({
    queryKey: ['event-types'],
    queryFn: ({ signal }) => call(client.GET('/v1/event-types', { signal })).then((r) => r.items),
    staleTime: Infinity,
  });

/** Configured at the API's boot: a reload of the page is enough to see a change. */
export const useOAuth2Providers = (enabled = true) =>
  useQuery({
    queryKey: ['oauth2-providers'],
    enabled,
    queryFn: ({ signal }) => call(client.GET('/v1/oauth2/providers', { signal })).then((r) => r.items),
    staleTime: Infinity,
  });
