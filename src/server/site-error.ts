/** A request the site cannot honour: the HTTP status, the field at fault, and why. */
export class SiteError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'SiteError';
  }
}
