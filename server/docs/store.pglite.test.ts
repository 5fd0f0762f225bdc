import { openTestPgliteDb } from '../db/testing.ts';
import { describeDocStoreContract } from './store.contract.ts';

describeDocStoreContract('pglite', async () => {
	const db = await openTestPgliteDb();
	return { db, dispose: () => db.close() };
});
