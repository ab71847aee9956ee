"""PostgreSQL COPY helpers: the bulk write path (an order of magnitude faster than INSERTs)."""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection, models


def encode_value(value: Any, field: models.Field) -> str:
    if value is None:
        return "\\N"
    if isinstance(field, models.JSONField):
        value = json.dumps(value)
    elif isinstance(field, models.BinaryField):
        return "\\\\x" + bytes(value).hex()
    elif isinstance(value, bool):
        value = "t" if value else "f"
    elif isinstance(value, dt.datetime):
        value = value.isoformat()
    value = str(value)
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def field_default(field: models.Field) -> Any:
    if field.has_default():
        return field.get_default()
    if field.null:
        return None
    if isinstance(field, (models.CharField, models.TextField)):
        return ""
    return None


def _row_adapter(fields: Sequence[models.Field]) -> Callable[[Sequence[Any]], Sequence[Any]] | None:
    """What a row needs before psycopg can send it: JSON values wrapped (the rest adapts by type)."""
    json_at = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    binary_at = [i for i, f in enumerate(fields) if isinstance(f, models.BinaryField)]
    if not json_at and not binary_at:
        return None
    from psycopg.types.json import Jsonb

    def adapt(row: Sequence[Any]) -> Sequence[Any]:
        row = list(row)
        for i in json_at:
            if row[i] is not None:
                row[i] = Jsonb(row[i])
        for i in binary_at:
            if row[i] is not None and not isinstance(row[i], bytes):
                row[i] = bytes(row[i])
        return row

    return adapt


def copy_into(table: str, fields: Sequence[models.Field], rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows (values in `fields` order) into `table` on the current connection.

    Values are adapted by psycopg's own (compiled) dumpers row by row, typed by the column list:
    several times cheaper than formatting COPY text in Python (the ingest and write-back hot path).
    """
    columns = ", ".join(f'"{f.column}"' for f in fields)
    adapt = _row_adapter(fields)
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
        write = copy.write_row
        if adapt is None:
            for row in rows:
                write(row)
                count += 1
        else:
            for row in rows:
                write(adapt(row))
                count += 1
    return count


def insert_new_rows(model: type[models.Model], rows: list[dict[str, Any]]) -> list[Any]:
    """Insert rows (dicts by attname) skipping primary keys that exist; returns the inserted keys.

    COPY into a temporary table, then one INSERT ... ON CONFLICT DO NOTHING RETURNING: idempotent and
    safe against a concurrent import of the same ids.
    """
    if not rows:
        return []
    fields = list(model._meta.concrete_fields)
    defaults = {f.attname: field_default(f) for f in fields}
    attnames = [f.attname for f in fields]
    return insert_new_tuples(model, attnames, [[row.get(name, defaults[name]) for name in attnames] for row in rows])


def insert_new_tuples(model: type[models.Model], attnames: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[Any]:
    """insert_new_rows with each row a tuple of values in `attnames` order (the other fields get
    their defaults): no dict per row to build and read back field by field on the hot path."""
    if not rows:
        return []
    fields = list(model._meta.concrete_fields)
    position = {name: i for i, name in enumerate(attnames)}
    missing = [f for f in fields if f.attname not in position]
    ordered = [next(f for f in fields if f.attname == name) for name in attnames]
    if missing:
        tail = tuple(field_default(f) for f in missing)
        rows = [(*row, *tail) for row in rows]
    copied = ordered + missing
    table = model._meta.db_table
    pk = model._meta.pk.column
    columns = ", ".join(f'"{f.column}"' for f in copied)
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE TEMP TABLE IF NOT EXISTS "_ingest_{table}" (LIKE "{table}" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS')
        copy_into(f"_ingest_{table}", copied, rows)
        cursor.execute(
            f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM "_ingest_{table}" '
            f'ON CONFLICT ("{pk}") DO NOTHING RETURNING "{pk}"'
        )
        inserted = [r[0] for r in cursor.fetchall()]
        cursor.execute(f'TRUNCATE "_ingest_{table}"')
    return inserted


def update_rows(
    model: type[models.Model],
    field_names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    where: str = "",
) -> int:
    """UPDATE many rows in one statement: COPY (pk, values...) into a temp table, then UPDATE ... FROM.

    `rows` hold the primary key first, then one value per field name. `where` is an extra SQL condition
    on the target table `t` (e.g. a state guard), so a redelivered batch updates nothing twice.
    Falls back to bulk_update on databases without COPY.
    """
    if not rows:
        return 0
    meta = model._meta
    fields = [meta.pk] + [meta.get_field(name) for name in field_names]
    if connection.vendor != "postgresql":
        objs = []
        for row in rows:
            obj = model(**{f.attname: value for f, value in zip(fields, row, strict=True)})
            objs.append(obj)
        return model.objects.bulk_update(objs, list(field_names), batch_size=500)
    table = meta.db_table
    # One temp table per field list: its columns are fixed when the session first creates it.
    temp = f"_update_{table}_{zlib.crc32(','.join(field_names).encode()):08x}"
    column_defs = ", ".join(f'"{f.column}" {f.db_type(connection)}' for f in fields)
    assignments = ", ".join(f'"{f.column}" = s."{f.column}"' for f in fields[1:])
    pk = meta.pk.column
    condition = f" AND ({where})" if where else ""
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE TEMP TABLE IF NOT EXISTS "{temp}" ({column_defs}) ON COMMIT DELETE ROWS')
        copy_into(temp, fields, rows)
        cursor.execute(f'UPDATE "{table}" t SET {assignments} FROM "{temp}" s WHERE t."{pk}" = s."{pk}"{condition}')
        updated = cursor.rowcount
        cursor.execute(f'TRUNCATE "{temp}"')
    return updated


def insert_or_add(
    model: type[models.Model],
    key_fields: Sequence[str],
    add_fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> int:
    """Insert rows (key values, then one count per add field); where the key exists already, add the
    counts to the stored ones. One COPY and one INSERT ... ON CONFLICT DO UPDATE (PostgreSQL only;
    the key must have a unique constraint, and keys must be unique within `rows`)."""
    if not rows:
        return 0
    meta = model._meta
    fields = [meta.get_field(name) for name in (*key_fields, *add_fields)]
    table = meta.db_table
    temp = f"_upsert_{table}_{zlib.crc32(','.join((*key_fields, *add_fields)).encode()):08x}"
    column_defs = ", ".join(f'"{f.column}" {f.db_type(connection)}' for f in fields)
    columns = ", ".join(f'"{f.column}"' for f in fields)
    keys = ", ".join(f'"{f.column}"' for f in fields[: len(key_fields)])
    additions = ", ".join(f'"{f.column}" = t."{f.column}" + EXCLUDED."{f.column}"' for f in fields[len(key_fields):])
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE TEMP TABLE IF NOT EXISTS "{temp}" ({column_defs}) ON COMMIT DELETE ROWS')
        copy_into(temp, fields, rows)
        cursor.execute(
            f'INSERT INTO "{table}" AS t ({columns}) SELECT {columns} FROM "{temp}" '
            f"ON CONFLICT ({keys}) DO UPDATE SET {additions}"
        )
        written = cursor.rowcount
        cursor.execute(f'TRUNCATE "{temp}"')
    return written
