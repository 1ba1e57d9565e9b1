import knex from 'knex';

/**
 * Makes licensor's database slow for the marketplace's writes, from outside the server, so that
 * `licensor simulate --hold-database` can play a marketplace retrying while the server is slow
 * (docs/marketplace.md "Test a deployment"). PostgreSQL: another connection holds the instance and
 * license tables in a lock that lets reads through and makes inserts wait. SQLite: another
 * connection holds the write lock (readers go on, in WAL mode). Resolves to the release.
 */
export async function holdMarketplaceWrites(database: { databaseUrl: string | undefined; sqliteFile: string }): Promise<() => Promise<void>> {
  const side = database.databaseUrl
    ? knex({ client: 'pg', connection: database.databaseUrl, pool: { min: 0, max: 1 } })
    : knex({ client: 'sqlite3', connection: { filename: database.sqliteFile }, useNullAsDefault: true, pool: { min: 0, max: 1 } });
  try {
    const holder = await side.transaction();
    if (database.databaseUrl) await holder.raw('LOCK TABLE marketplace_instances, marketplace_licenses IN SHARE ROW EXCLUSIVE MODE');
    // A write that changes nothing takes SQLite's write lock for the transaction, as BEGIN IMMEDIATE does (direct-sql.ts), which knex does not send.
    else await holder.raw('UPDATE marketplace_instances SET test = test WHERE 0');
    return async () => {
      await holder.rollback().catch(() => undefined);
      await side.destroy();
    };
  } catch (err) {
    await side.destroy();
    throw err;
  }
}
