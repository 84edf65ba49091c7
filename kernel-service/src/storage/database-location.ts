/**
 * Where a service keeps its state: the embedded SQLite file in the state dir, or a PostgreSQL
 * database that replicas on other machines share (`serve --database`). Threads that open
 * their own connections (the monitoring worker) are given this, not a connection.
 */
export type DatabaseLocation = { kind: 'sqlite'; file: string } | { kind: 'postgresql'; url: string };

/** How a location shows in logs and errors: the file, or the URL without its password. */
export function describeLocation(location: DatabaseLocation): string {
  if (location.kind === 'sqlite') return location.file;
  try {
    const url = new URL(location.url);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'postgresql://…';
  }
}

/** A database URL the service was given was not usable: what failed, with the password left out. */
export class DatabaseUrlError extends Error {
  override name = 'DatabaseUrlError';
}

/** The URL without its password, checked to be a postgresql:// URL with a host and a database. */
export function describeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatabaseUrlError('the database URL is not a URL: expected postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE');
  }
  if (parsed.protocol !== 'postgresql:' && parsed.protocol !== 'postgres:') {
    throw new DatabaseUrlError(`the database URL must start with postgresql:// (it starts with ${parsed.protocol}//)`);
  }
  if (parsed.password) parsed.password = '***';
  const shown = parsed.toString();
  if (!parsed.hostname) throw new DatabaseUrlError(`the database URL ${shown} names no host`);
  if (parsed.pathname.length <= 1) throw new DatabaseUrlError(`the database URL ${shown} names no database (…/DATABASE at its end)`);
  return shown;
}
