"""Compare citecast's outbox with what the generator builds.

usage: compare.py SITE_DIR TRUTH_TSV [BUILD_DIR [BASE_PATH]]
TRUTH_TSV: "source<TAB>absolute URL" for every page the generator publishes (jekyll_urls.rb,
hugo_truth.py, astro_truth.mjs). BUILD_DIR: the generator's output; a link counts as served
only if it is in the truth and its file is in the build (BASE_PATH: the URL path the build
folder is served under, e.g. /minima).
"""
import json, re, sys, os
from urllib.parse import unquote, urlsplit
site, truth_file = sys.argv[1], sys.argv[2]
build = sys.argv[3] if len(sys.argv) > 3 else None
base = sys.argv[4] if len(sys.argv) > 4 else ""
truth = {}
for line in open(truth_file):
    if "\t" in line:
        src, url = line.rstrip("\n").split("\t")[:2]
        if src.startswith("outbox/"): continue
        truth[url] = src
sent = [json.loads(l) for l in open(os.path.join(site, "outbox/sent.jsonl")) if l.strip()]
MARKUP = {
  "liquid": r"\{%|%\}|\{\{|\}\}",
  "shortcode": r"\{\{[<%]",
  "html": r"</?[a-zA-Z][a-zA-Z0-9-]*(\s[^>]*)?/?>",
  "entity": r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]{2,8});",
  "mdx": r"(?m)^\s*(import|export)\s",
  "kramdown": r"\{:",
  "footnote": r"\[\^",
  "directive": r"(?m)^\s*:::",
  "alert": r"\[![A-Za-z]+\]",
}
links = {}
bad_links, markup = set(), []
for s in sent:
    text = (s.get("title") or "") + "\n" + "\n".join(s["parts"])
    links.setdefault(s["link"], []).append(s["key"])
    for kind, rx in MARKUP.items():
        m = re.search(rx, text)
        if m:
            markup.append((s["key"], kind, text[max(0, m.start()-40):m.end()+40].replace("\n", " ")))
not_served = []
for link in links:
    ok = link in truth
    if build:
        path = unquote(urlsplit(link).path)
        if base: path = path[len(base):] if path.startswith(base) else "/__wrong_base__" + path
        f = os.path.join(build, path.lstrip("/"))
        exists = os.path.isfile(os.path.join(f, "index.html")) if path.endswith("/") else os.path.isfile(f)
        ok = ok and exists
    if not ok: not_served.append(link)
posted_ok = [l for l in links if l in truth]
print(f"posts {len(sent)}; pages posted {len(links)}; links not served {len(not_served)}; "
      f"posts with markup {len({k for k,_,_ in markup})}; publishable pages {len(truth)}; "
      f"went out {len(posted_ok)} ({100*len(posted_ok)/max(1,len(truth)):.1f}%)")
for l in not_served[:30]: print("  NOT SERVED", l, links[l][:1])
for k, kind, ctx in markup[:40]: print("  MARKUP", kind, k, "|", ctx)
missing = sorted(set(truth) - set(links))
for u in missing[:40]: print("  NOT POSTED", truth[u], u)
