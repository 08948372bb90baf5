import { randomBytes } from 'node:crypto';
import type { EnvironmentConfig } from '../config/config';
import { resolveConnection, ResolvedConnection } from '../config/connection';
import { BulwarkError, ConnectionError } from '../errors';
import { redact } from '../redact';
import { Db, pgErrorFields, quoteIdent } from './db';
import { connectPg } from './pg';

/** Where shadow databases come from: `open()` gives an empty database; closing it throws it away. */
export interface ShadowSource {
  /** What to show: the server, without any password. */
  display: string;
  /** Passwords to redact from messages. */
  secrets: string[];
  open(): Promise<Db>;
}

export const SHADOW_PREFIX = 'bulwark_shadow_';

/**
 * Throwaway shadow databases on a PostgreSQL server: each `open()` creates `bulwark_shadow_<random>`
 * from template0 (so nothing installed in template1 leaks in) through a connection to `url`, and the
 * session's `close()` drops it again. The user of `url` needs CREATEDB.
 */
export function serverShadow(url: string, opts: { applicationName: string; processEnv?: Record<string, string | undefined> }): ShadowSource {
  const env: EnvironmentConfig = { name: 'shadow', url, protected: false, lockWaitTimeoutMs: 0 };
  const admin = resolveConnection(env, opts.processEnv ?? {});
  const withDatabase = (name: string): ResolvedConnection => {
    const u = new URL(admin.pg.connectionString!);
    u.pathname = '/' + encodeURIComponent(name);
    return { ...admin, pg: { ...admin.pg, connectionString: u.toString() } };
  };
  const connectOpts = { applicationName: opts.applicationName };
  const adminDo = async <T>(fn: (db: Db) => Promise<T>): Promise<T> => {
    const db = await connectPg(admin, connectOpts);
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  };
  const drop = (name: string) =>
    adminDo(async (db) => {
      await db.query('SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE datname = $1 AND pid <> pg_catalog.pg_backend_pid()', [name]);
      await db.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
    });

  return {
    display: admin.display,
    secrets: admin.secrets,
    async open(): Promise<Db> {
      const name = SHADOW_PREFIX + randomBytes(6).toString('hex');
      await adminDo(async (db) => {
        try {
          await db.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0`);
        } catch (e) {
          const f = pgErrorFields(e);
          throw new ConnectionError(`cannot create the shadow database on ${admin.display}: ${redact(f?.message ?? String(e), admin.secrets)}`, {
            hint: 'The user of the shadow URL needs the CREATEDB privilege (or use a server where it has it).',
            cause: e,
          });
        }
      });
      let db: Db;
      try {
        db = await connectPg(withDatabase(name), connectOpts);
      } catch (e) {
        await drop(name).catch(() => {});
        throw e instanceof BulwarkError ? e : new ConnectionError(String(e));
      }
      let closed = false;
      return {
        backendPid: db.backendPid,
        serverVersion: db.serverVersion,
        query: (sql, params) => db.query(sql, params),
        async close() {
          if (closed) return;
          closed = true;
          await db.close();
          await drop(name).catch(() => {});
        },
      };
    },
  };
}
