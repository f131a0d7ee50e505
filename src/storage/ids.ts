const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A string that PostgreSQL will accept as a uuid; anything else can name no row. */
export const isUuid = (value: string): boolean => UUID.test(value);
