import axios, { type AxiosInstance } from 'axios';
import { ADMIN_PAGE_MAX, ADMIN_PATH } from './contract.js';

/** Where a fleet finds the admin API's token when no flag gives it. */
export const ADMIN_TOKEN_VARIABLE = 'MLC_SIM_ADMIN_TOKEN';

/** An axios client of a site's admin API, passing its bearer token (the flag's, or $MLC_SIM_ADMIN_TOKEN) when there is one. */
export function adminClient(
  serverUrl: string,
  options: { token?: string | undefined; validateStatus?: () => boolean; timeoutMs?: number } = {},
): AxiosInstance {
  const token = options.token ?? process.env[ADMIN_TOKEN_VARIABLE];
  return axios.create({
    baseURL: new URL(ADMIN_PATH, serverUrl).href,
    ...(token !== undefined && token !== '' && { headers: { Authorization: `Bearer ${token}` } }),
    ...(options.validateStatus && { validateStatus: options.validateStatus }),
    ...(options.timeoutMs !== undefined && { timeout: options.timeoutMs }),
  });
}

/** Every record of a paged admin listing, page by page. */
export async function allPages<T>(admin: AxiosInstance, path: string, params: Record<string, string> = {}): Promise<T[]> {
  const all: T[] = [];
  for (;;) {
    const { data } = await admin.get<T[]>(path, { params: { ...params, limit: ADMIN_PAGE_MAX, offset: all.length } });
    all.push(...data);
    if (data.length < ADMIN_PAGE_MAX) return all;
  }
}
