"""The same help-desk steps in pandas + scikit-learn, timed: read the CSV, weekly counts per
category, TF-IDF on subject + description (1-2-grams, 50k features), MiniBatchKMeans with k = 60.

Usage: python tickets_pandas.py tickets.csv
Prints one `step seconds` line per step and a `total` line.
"""

import sys
import time

import pandas as pd
from sklearn.cluster import MiniBatchKMeans
from sklearn.feature_extraction.text import TfidfVectorizer


def main(path: str) -> None:
    timings = []
    start = time.perf_counter()

    t = time.perf_counter()
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df["created"] = pd.to_datetime(df["Created Time"], format="%Y-%m-%d %H:%M:%S")
    timings.append(("read_csv", time.perf_counter() - t))

    t = time.perf_counter()
    df["category"] = df["Category"] + " > " + df["Sub-Category"]
    weekly = (
        df.groupby([pd.Grouper(key="created", freq="W-MON", label="left", closed="left"), "category"])
        .size()
        .unstack(fill_value=0)
    )
    timings.append(("weekly_counts", time.perf_counter() - t))

    t = time.perf_counter()
    text = df["Subject"] + " " + df["Description"]
    vec = TfidfVectorizer(ngram_range=(1, 2), max_features=50_000, stop_words="english")
    x = vec.fit_transform(text)
    timings.append(("tfidf", time.perf_counter() - t))

    t = time.perf_counter()
    km = MiniBatchKMeans(n_clusters=60, random_state=42, n_init=1, batch_size=4096)
    labels = km.fit_predict(x)
    timings.append(("kmeans", time.perf_counter() - t))

    for name, secs in timings:
        print(f"{name} {secs:.3f}")
    print(f"total {time.perf_counter() - start:.3f}")
    print(
        f"# {len(df)} rows, {weekly.shape[0]} weeks x {weekly.shape[1]} categories, "
        f"{x.shape[1]} features, {len(set(labels))} clusters",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main(sys.argv[1])
