"""bench:recon --mode db's comparison runs: datacompy reading the same two databases finflow reads (the GL journal
lines in PostgreSQL, the ERP postings in MariaDB), with the same SELECTs, in pandas (pandas.read_sql over
SQLAlchemy: psycopg2 and PyMySQL) or polars (polars.read_database_uri over connectorx). The ERP's columns are
renamed to the GL's (the scenario's mapping), its 4-decimal total rounded to 2 places, and the two frames compared
on document_no with an absolute tolerance.

    python compare_db.py pandas|polars PG_URL MYSQL_URL GL_SQL ERP_SQL ABS_TOL

Prints one JSON object: seconds per phase, row counts, what datacompy found and peak memory. Amounts are floats, as
these libraries hold them (datacompy compares floats with the tolerance).
"""
import json
import resource
import sys
import time

import datacompy

lib, pg_url, mysql_url, gl_sql, erp_sql, abs_tol = sys.argv[1:6] + [float(sys.argv[6])]
RENAME = {
    "doc_ref": "document_no",
    "acct_num": "account_code",
    "dept_id": "department_code",
    "post_date": "posting_date",
    "curr": "currency",
    "total": "balance",
}


def scheme(url, driver):
    """postgres://... -> postgresql+psycopg2://..., mysql://... -> mysql+pymysql://..."""
    rest = url.split("://", 1)[1]
    return f"{driver}://{rest}"


t0 = time.perf_counter()
if lib == "pandas":
    import pandas as pd
    from sqlalchemy import create_engine

    version = pd.__version__
    gl_engine = create_engine(scheme(pg_url, "postgresql+psycopg2"))
    erp_engine = create_engine(scheme(mysql_url, "mysql+pymysql"))
    with gl_engine.connect() as c:
        gl = pd.read_sql(gl_sql, c, coerce_float=True)
    t_gl = time.perf_counter()
    with erp_engine.connect() as c:
        erp = pd.read_sql(erp_sql, c, coerce_float=True)
    t1 = time.perf_counter()
    gl["balance"] = gl["balance"].astype(float)
    erp = erp.rename(columns=RENAME)
    erp["balance"] = erp["balance"].astype(float).round(2)
    t2 = time.perf_counter()
    cmp = datacompy.PandasCompare(gl, erp, join_columns="document_no", abs_tol=abs_tol, df1_name="gl", df2_name="erp")
else:
    import polars as pl

    version = pl.__version__
    gl = pl.read_database_uri(gl_sql, scheme(pg_url, "postgresql"), engine="connectorx")
    t_gl = time.perf_counter()
    erp = pl.read_database_uri(erp_sql, scheme(mysql_url, "mysql"), engine="connectorx")
    t1 = time.perf_counter()
    gl = gl.with_columns(pl.col("balance").cast(pl.Float64))
    erp = erp.rename(RENAME).with_columns(pl.col("balance").cast(pl.Float64).round(2))
    t2 = time.perf_counter()
    cmp = datacompy.PolarsCompare(gl, erp, join_columns="document_no", abs_tol=abs_tol, df1_name="gl", df2_name="erp")
t3 = time.perf_counter()
mismatched = len(cmp.all_mismatch())
only_gl, only_erp = len(cmp.df1_unq_rows), len(cmp.df2_unq_rows)
t4 = time.perf_counter()

print(
    json.dumps(
        {
            "lib": lib,
            "version": version,
            "datacompy": datacompy.__version__,
            "rows_gl": len(gl),
            "rows_erp": len(erp),
            "only_in_gl": only_gl,
            "only_in_erp": only_erp,
            "mismatched_rows": mismatched,
            "read_gl_s": t_gl - t0,
            "read_erp_s": t1 - t_gl,
            "read_s": t1 - t0,
            "normalise_s": t2 - t1,
            "compare_s": t3 - t2,
            "extract_s": t4 - t3,
            "total_s": t4 - t0,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )
)
