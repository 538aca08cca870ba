import time, tempfile
from pathlib import Path
from assistant.demo import build_demo_models
from assistant.models.registry import Registry
from assistant.models.whatif import what_if
from assistant.models.explain import explain
from assistant.models.predict import predict_record
d = Path(tempfile.mkdtemp()); build_demo_models(d)
reg = Registry([d])
def t(label, fn, n=200):
    fn()
    t0=time.perf_counter()
    for _ in range(n): fn()
    print(f"{label:40s} {(time.perf_counter()-t0)/n*1000:.2f} ms")
for mid, rid, ch in [("credit-default","C-10100",{"balance":{"decrease":300}}),("customer-churn","C-20100",{"monthly_charges":{"decrease":10}}),("transaction-fraud","T-100100",None)]:
    m = reg.get(mid); m.record_probabilities
    t(mid+" predict_record", lambda: predict_record(m, rid))
    t(mid+" explain record", lambda: explain(m, rid))
    if ch: t(mid+" what_if", lambda: what_if(m, rid, ch))
    row = m.records.iloc[[5]]
    t(mid+" probabilities(1 row)", lambda: m.probabilities(row))
    ff = m.features_frame(row)
    t(mid+" features_frame", lambda: m.features_frame(row))
    t(mid+" predict_proba(frame)", lambda: m.estimator.predict_proba(ff))
print("----")
import numpy as np
for mid in ["credit-default","customer-churn","transaction-fraud"]:
    m = reg.get(mid); est = m.estimator
    print(mid, [ (n, type(s).__name__) for n,s in est.steps], getattr(est[-1], "n_jobs", None))
    pre = est[:-1]; ff = m.features_frame(m.records.iloc[[5]])
    if hasattr(pre[-1], "transformers_"): print("   ", [(n, type(t).__name__ if not isinstance(t,str) else t, c) for n,t,c in pre[-1].transformers_])
    t(mid+" pre.transform", lambda: pre.transform(ff))
    Z = np.asarray(pre.transform(ff))
    t(mid+" final.predict_proba(Z)", lambda: est[-1].predict_proba(Z))
