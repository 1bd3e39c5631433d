"""bench:recon --mode csv's comparison runs: the GL and ERP CSV exports of bench/lib/recon-csv.ts, normalised as
finflow's definition does (debit - credit; keys trimmed and upper-cased; German amounts with 4 decimals rounded to
2; dd.MM.yyyy dates; the ERP file in windows-1252) and compared with datacompy on document_no with an absolute
tolerance, in pandas or polars.

    python compare_csv.py pandas|polars GL_CSV ERP_CSV ABS_TOL

Prints one JSON object: seconds per phase, row counts, what datacompy found and peak memory. Amounts are floats, as
these libraries hold them (datacompy compares floats with the tolerance).
"""
import json
import resource
import sys
import time

import datacompy

lib, gl_path, erp_path, abs_tol = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
COLS = ["document_no", "posting_date", "currency", "balance"]

t0 = time.perf_counter()
if lib == "pandas":
    import pandas as pd

    version = pd.__version__
    gl = pd.read_csv(gl_path, dtype=str, keep_default_na=False)
    erp = pd.read_csv(erp_path, sep=";", encoding="cp1252", dtype=str, keep_default_na=False)
    t1 = time.perf_counter()
    num = lambda s: pd.to_numeric(s.replace("", "0"))
    gl["balance"] = num(gl["debit"]) - num(gl["credit"])
    gl["posting_date"] = pd.to_datetime(gl["posting_date"], format="%Y-%m-%d")
    gl["currency"] = gl["currency"].str.strip().str.upper()
    erp["document_no"] = erp["doc_ref"].str.strip().str.upper()
    erp["balance"] = pd.to_numeric(
        erp["total"].str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    ).round(2)
    erp["posting_date"] = pd.to_datetime(erp["post_date"], format="%d.%m.%Y")
    erp["currency"] = erp["curr"].str.strip().str.upper()
    gl, erp = gl[COLS], erp[COLS]
    t2 = time.perf_counter()
    cmp = datacompy.PandasCompare(gl, erp, join_columns="document_no", abs_tol=abs_tol, df1_name="gl", df2_name="erp")
    t3 = time.perf_counter()
    mismatched = len(cmp.all_mismatch())
    only_gl, only_erp = len(cmp.df1_unq_rows), len(cmp.df2_unq_rows)
else:
    import polars as pl

    version = pl.__version__
    gl = pl.read_csv(gl_path, infer_schema=False)
    erp = pl.read_csv(erp_path, separator=";", encoding="windows-1252", infer_schema=False)
    t1 = time.perf_counter()
    num = lambda c: pl.col(c).cast(pl.Float64).fill_null(0.0)
    gl = gl.select(
        pl.col("document_no"),
        pl.col("posting_date").str.to_date("%Y-%m-%d"),
        pl.col("currency").str.strip_chars().str.to_uppercase(),
        (num("debit") - num("credit")).alias("balance"),
    )
    erp = erp.select(
        pl.col("doc_ref").str.strip_chars().str.to_uppercase().alias("document_no"),
        pl.col("post_date").str.to_date("%d.%m.%Y").alias("posting_date"),
        pl.col("curr").str.strip_chars().str.to_uppercase().alias("currency"),
        pl.col("total").str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
        .cast(pl.Float64).round(2).alias("balance"),
    )
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
            "read_s": t1 - t0,
            "normalise_s": t2 - t1,
            "compare_s": t3 - t2,
            "extract_s": t4 - t3,
            "total_s": t4 - t0,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )
)
