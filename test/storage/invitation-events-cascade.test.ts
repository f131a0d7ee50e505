import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { databaseKinds, openTestDatabase, type TestDatabase } from '../support/databases.js';

describe.each(databaseKinds())('timeline entries of deleted invitations on %s', (kind) => {
  let test: TestDatabase | undefined;
  afterAll(async () => {
    await test?.database.close();
  });

  it('go with their invitation, and with their account, and no others go', async () => {
    test = await openTestDatabase(kind);
    const { sql } = test.database;
    const [kept, gone] = [randomUUID(), randomUUID()];
    for (const account of [kept, gone])
      await sql.query(`INSERT INTO accounts (id, slug, name) VALUES ($1, $2, 'Account')`, [account, account]);
    const invitation = async (account: string) => {
      const id = randomUUID();
      await sql.query(
        `INSERT INTO invitations (id, account_id, batch_id, dispatch_id, record_index, state, prefills)
         VALUES ($1, $2, 'batch', $2, 0, 'token_created', '[]')`,
        [id, account],
      );
      await sql.query(
        `INSERT INTO invitation_events (account_id, invitation_id, action, channel)
         SELECT $1, $2, action, 2 FROM unnest(ARRAY[0, 2]::smallint[]) AS action`,
        [account, id],
      );
      return id;
    };
    const [first, second, third] = [await invitation(kept), await invitation(kept), await invitation(gone)];
    const eventsOf = async () =>
      (
        await sql.query<{ invitation_id: string; n: string }>(
          `SELECT invitation_id, count(*) AS n FROM invitation_events GROUP BY invitation_id`,
        )
      ).reduce<Record<string, number>>((all, r) => ({ ...all, [r.invitation_id]: Number(r.n) }), {});
    expect(await eventsOf()).toEqual({ [first]: 2, [second]: 2, [third]: 2 });

    await sql.query(`DELETE FROM invitations WHERE id = $1`, [first]);
    expect(await eventsOf()).toEqual({ [second]: 2, [third]: 2 });

    await sql.query(`DELETE FROM accounts WHERE id = $1`, [gone]);
    expect(await eventsOf()).toEqual({ [second]: 2 });
  });
});
