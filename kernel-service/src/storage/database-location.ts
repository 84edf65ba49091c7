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
