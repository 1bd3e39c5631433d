"""bench:recon's comparison run: the same GL and ERP data as CSV, compared with datacompy (pandas).

    python compare.py GL_CSV ERP_CSV ABS_TOL

The ERP's columns are renamed to the GL's (the scenario's mapping), its 4-decimal total rounded to 2 places, and the
two frames compared on document_no with an absolute tolerance. Prints one JSON object: timings (load, compare,
extracting the mismatched rows), row counts and peak memory, for bench/recon.ts to print next to finflow's figures.
"""
import json
import resource
import sys
import time

import datacompy
import pandas as pd

gl_path, erp_path, abs_tol = sys.argv[1], sys.argv[2], float(sys.argv[3])

t0 = time.perf_counter()
text = {"document_no": str, "account_code": str, "department_code": str, "currency": str, "posting_date": str}
gl = pd.read_csv(
    gl_path,
    usecols=["document_no", "account_code", "department_code", "posting_date", "currency", "balance"],
    dtype=text,
)
erp = pd.read_csv(
    erp_path,
    usecols=["doc_ref", "acct_num", "dept_id", "post_date", "curr", "total"],
    dtype={"doc_ref": str, "acct_num": str, "dept_id": str, "post_date": str, "curr": str},
).rename(
    columns={
        "doc_ref": "document_no",
        "acct_num": "account_code",
        "dept_id": "department_code",
        "post_date": "posting_date",
        "curr": "currency",
        "total": "balance",
    }
)
# pandas rounds half-even on binary floats; datacompy compares floats with the tolerance.
erp["balance"] = erp["balance"].round(2)
t1 = time.perf_counter()

cmp = datacompy.PandasCompare(gl, erp, join_columns="document_no", abs_tol=abs_tol, df1_name="gl", df2_name="erp")
t2 = time.perf_counter()
mismatched = cmp.all_mismatch()
only_gl = len(cmp.df1_unq_rows)
only_erp = len(cmp.df2_unq_rows)
t3 = time.perf_counter()

print(
    json.dumps(
        {
            "datacompy": datacompy.__version__,
            "pandas": pd.__version__,
            "rows_gl": len(gl),
            "rows_erp": len(erp),
            "only_in_gl": only_gl,
            "only_in_erp": only_erp,
            "mismatched_rows": len(mismatched),
            "columns_with_mismatches": sorted(cmp.columns_with_mismatches()) if hasattr(cmp, "columns_with_mismatches") else None,
            "load_s": t1 - t0,
            "compare_s": t2 - t1,
            "extract_s": t3 - t2,
            "total_s": t3 - t0,
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )
)
