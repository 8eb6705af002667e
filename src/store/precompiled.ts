import { CompiledQuery, type Compilable, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

/**
 * A query built through Kysely once, in the dialect's own SQL and placeholders, then run with new
 * parameters: on the paths that run for every request or attempt, building a query through Kysely
 * costs more than SQLite running it. `params` bind in the order the query's values appear in it.
 */
export function precompiled<Row>(db: Kysely<Database>, query: Compilable<Row>): (params: readonly unknown[]) => Promise<Row[]> {
  const compiled = query.compile();
  return async (params) => {
    if (params.length !== compiled.parameters.length) throw new Error(`expected ${compiled.parameters.length} parameters, got ${params.length}: ${compiled.sql}`);
    return (await db.executeQuery<Row>(CompiledQuery.raw(compiled.sql, [...params]))).rows;
  };
}
