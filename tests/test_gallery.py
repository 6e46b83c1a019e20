"""The gallery: every scene's image, title, command and source on one self-contained page; reruns skip work."""
from __future__ import annotations

import functools
import html
import html.parser
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from PIL import Image

import optviz
from optviz import api
from optviz.errors import SceneError
from optviz.commands.gallery import build_gallery

SCENE = """\
title: {title}
description: {description}
function: beale
steps: 20
size: [{width}, {height}]
optimizers: [adam, sgd]
"""


def write_scenes(root):
    """Two tiny scenes: one at the top, one in blog/ with a name that needs quoting in URLs and shells."""
    top = root / "bowl.yaml"
    blog = root / "blog" / "adam & sgd.yaml"
    blog.parent.mkdir(parents=True)
    top.write_text(SCENE.format(title="Top scene", description="A plain one.", width=160, height=120))
    blog.write_text(SCENE.format(title='Adam <vs> "SGD"', description="Fast & <b>slow</b>, isn't it", width=176, height=128))
    return top, blog


def fake_render(path, out=None, fmt=None, progress=None):
    """A stand-in for the renderer: a real two-frame GIF of the scene's size, made quickly (and a stub page)."""
    from optviz.scenes.load import load

    size = load(path).size
    if fmt == "html":
        Path(out).write_text("<!DOCTYPE html>\n<title>player</title>\n")
        return out
    frames = [Image.new("RGB", size, c) for c in ("white", "black")]
    frames[0].save(out, save_all=True, append_images=frames[1:], duration=50, loop=0)
    return out


def mtimes(*paths):
    return [p.stat().st_mtime_ns for p in paths]


def test_page_shows_every_scene_and_reruns_skip_what_is_up_to_date(tmp_path, monkeypatch):
    top, blog = write_scenes(tmp_path / "scenes")
    out = tmp_path / "out"
    lines = []

    result = build_gallery(tmp_path / "scenes", out, jobs=2, echo=lines.append)  # real renders, two processes
    top_gif, blog_gif = out / "bowl.gif", out / "adam & sgd.gif"
    assert result.index == out / "index.html"
    assert result.rendered == [blog_gif, top_gif] and result.skipped == []
    assert lines == [f"rendered {blog_gif}", f"rendered {top_gif}", f"wrote {out / 'index.html'}"]
    for gif, size in ((top_gif, (160, 120)), (blog_gif, (176, 128))):
        with Image.open(gif) as im:
            assert im.size == size and im.n_frames > 2
    page = result.index.read_text()
    assert "<h3><a href=\"#bowl\">Top scene</a></h3>" in page
    assert '<img src="bowl.gif" width="160" height="120" alt="Top scene">' in page
    assert '<img src="adam%20%26%20sgd.gif" width="176" height="128" alt="Adam &lt;vs&gt; &quot;SGD&quot;">' in page
    assert '<h3><a href="#adam-sgd">Adam &lt;vs&gt; "SGD"</a></h3>' in page
    assert page.index("<h2>The post's figures</h2>") < page.index("<h2>More scenes</h2>")
    assert "<p class=\"description\">Fast &amp; &lt;b&gt;slow&lt;/b&gt;, isn't it</p>" in page
    assert f"<code>optviz render {top} -o {top_gif}</code>" in page
    assert f"<code>optviz render '{blog}' -o '{blog_gif}'</code>".replace("&", "&amp;") in page
    assert """<pre>\ntitle: Adam &lt;vs&gt; "SGD"\ndescription: Fast &amp; &lt;b&gt;slow&lt;/b&gt;, isn't it\nfunction: beale\n""" in page
    assert "<vs>" not in page and "<b>" not in page
    before = mtimes(top_gif, blog_gif, result.index)

    lines.clear()
    again = build_gallery(tmp_path / "scenes", out, echo=lines.append)
    assert again.rendered == [] and again.skipped == [blog_gif, top_gif]
    assert lines[:2] == [f"up to date {blog_gif}", f"up to date {top_gif}"]
    assert mtimes(top_gif, blog_gif) == before[:2]
    assert again.index.read_text() == page  # same inputs, same bytes

    later = top_gif.stat().st_mtime_ns + 5_000_000_000
    os.utime(top, ns=(later, later))
    touched = build_gallery(tmp_path / "scenes", out)
    assert touched.rendered == [top_gif] and touched.skipped == [blog_gif]
    assert mtimes(blog_gif) == before[1:2]

    monkeypatch.setattr(api, "render_file", fake_render)
    monkeypatch.setattr(optviz._version, "__version__", "99.0")
    upgraded = build_gallery(tmp_path / "scenes", out)
    assert upgraded.rendered == [blog_gif, top_gif] and upgraded.skipped == []
    manifest = json.loads((out / ".gallery.json").read_text())["outputs"]
    assert {m["optviz"] for m in manifest.values()} == {"99.0"}
    assert "rendered by optviz 99.0" in upgraded.index.read_text()
    assert build_gallery(tmp_path / "scenes", out, force=True).rendered == [blog_gif, top_gif]


def test_edited_scene_and_missing_image_render_again(tmp_path, monkeypatch):
    monkeypatch.setattr(api, "render_file", fake_render)
    top, blog = write_scenes(tmp_path / "scenes")
    out = tmp_path / "out"
    build_gallery(tmp_path / "scenes", out)
    stamp = top.stat().st_mtime_ns
    top.write_text(top.read_text().replace("steps: 20", "steps: 21"))
    os.utime(top, ns=(stamp, stamp))  # same mtime, new content: the hash notices
    (out / "adam & sgd.gif").unlink()
    assert build_gallery(tmp_path / "scenes", out).rendered == [out / "adam & sgd.gif", out / "bowl.gif"]


def test_same_names_in_different_folders_get_the_folder_as_prefix(tmp_path, monkeypatch):
    monkeypatch.setattr(api, "render_file", fake_render)
    for folder in ("scenes", "scenes/blog", "scenes/more"):
        (tmp_path / folder).mkdir(exist_ok=True)
    text = SCENE.format(title="t", description="d", width=160, height=120)
    for name in ("scenes/adam.yaml", "scenes/blog/adam.yaml", "scenes/blog/other.yaml", "scenes/more/adam.yml"):
        (tmp_path / name).write_text(text)
    result = build_gallery(tmp_path / "scenes", tmp_path / "out")
    names = sorted(p.name for p in result.rendered)
    assert names == ["blog-adam.gif", "more-adam.gif", "other.gif", "scenes-adam.gif"]
    page = result.index.read_text()
    assert "<h2>The post's figures</h2>" in page and "<h2>more</h2>" in page and "<h2>More scenes</h2>" in page
    assert page.index("The post's figures</h2>") < page.index("<h2>more</h2>") < page.index("<h2>More scenes</h2>")


def test_every_bad_scene_is_reported_before_anything_renders(tmp_path, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("rendered although a scene is invalid")

    monkeypatch.setattr(api, "render_file", never)
    write_scenes(tmp_path)
    (tmp_path / "bad1.yaml").write_text("function: nope\noptimizers: [adam]\n")
    (tmp_path / "bad2.yaml").write_text("function: beale\noptimizers: [adan]\n")
    with pytest.raises(SceneError) as info:
        build_gallery(tmp_path, tmp_path / "out")
    assert "bad1.yaml:1: function: unknown function 'nope'" in str(info.value)
    assert "bad2.yaml:2: optimizers[0].name: unknown optimizer 'adan'" in str(info.value)
    assert not (tmp_path / "out").exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(SceneError, match="no .yaml scene files"):
        build_gallery(tmp_path / "empty", tmp_path / "out")


def test_a_failed_render_keeps_the_others_and_writes_no_page(tmp_path, monkeypatch):
    def flaky(path, out=None, fmt=None, progress=None):
        if "bowl" in str(path):
            raise SceneError("the renderer gave up", file=str(path))
        return fake_render(path, out, fmt, progress)

    monkeypatch.setattr(api, "render_file", flaky)
    write_scenes(tmp_path / "scenes")
    out = tmp_path / "out"
    with pytest.raises(SceneError, match="bowl.yaml: the renderer gave up"):
        build_gallery(tmp_path / "scenes", out)
    assert not (out / "index.html").exists()
    assert list(json.loads((out / ".gallery.json").read_text())["outputs"]) == ["adam & sgd.gif"]
    monkeypatch.setattr(api, "render_file", fake_render)
    assert build_gallery(tmp_path / "scenes", out).rendered == [out / "bowl.gif"]


def test_each_card_links_its_scenes_interactive_page(tmp_path, monkeypatch):
    calls = []

    def recording(path, out=None, fmt=None, progress=None):
        calls.append((Path(path).name, Path(out).name, fmt))
        return fake_render(path, out, fmt, progress)

    monkeypatch.setattr(api, "render_file", recording)
    write_scenes(tmp_path / "scenes")
    (tmp_path / "scenes" / "index.yaml").write_text(SCENE.format(title="Named like the page", description="d",
                                                                 width=160, height=120))
    (tmp_path / "scenes" / "huge.yaml").write_text(SCENE.format(title="Too big for a page", description="d",
                                                                width=4096, height=4096) + "scale: 2\n")
    out = tmp_path / "out"
    result = build_gallery(tmp_path / "scenes", out)
    assert ("bowl.yaml", "bowl.gif", "gif") in calls and ("bowl.yaml", "bowl.html", "html") in calls
    assert ("index.yaml", "index-2.html", "html") in calls              # the gallery's own page keeps its name
    assert ("huge.yaml", "huge.gif", "gif") in calls and not any(c[1] == "huge.html" for c in calls)
    page = result.index.read_text()
    assert '<a href="bowl.html">Interactive version</a>' in page
    assert '<a href="adam%20%26%20sgd.html">Interactive version</a>' in page
    assert '<a href="index-2.html">Interactive version</a>' in page and "huge.html" not in page
    assert page.startswith("<!DOCTYPE html>") and "optviz gallery" in page
    calls.clear()
    (out / "bowl.html").unlink()                                          # a missing page is made again
    assert build_gallery(tmp_path / "scenes", out).rendered == [out / "bowl.gif"]
    assert ("bowl.yaml", "bowl.html", "html") in calls


class _Structure(html.parser.HTMLParser):
    """Collects what makes a page self-contained and well formed: balanced tags, unique ids, no outside links."""

    VOID = {"meta", "img", "br", "hr", "link", "input", "source"}

    def __init__(self):
        super().__init__()
        self.stack, self.ids, self.problems, self.doctype = [], [], [], None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "link", "iframe", "object", "embed"):
            self.problems.append(f"<{tag}>")
        for key in ("src", "href"):
            if re.match(r"^(\w+:|//)", attrs.get(key) or ""):
                self.problems.append(f"external {key}={attrs[key]}")
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"unbalanced </{tag}>")


def test_page_is_self_contained_html5(tmp_path, monkeypatch):
    monkeypatch.setattr(api, "render_file", fake_render)
    write_scenes(tmp_path / "scenes")
    page = build_gallery(tmp_path / "scenes", tmp_path / "out").index.read_text(encoding="utf-8")
    parser = _Structure()
    parser.feed(page)
    parser.close()
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">')
    assert parser.doctype == "DOCTYPE html" and parser.stack == [] and parser.problems == []
    assert len(parser.ids) == len(set(parser.ids))
    assert "<style>" in page and page.count("<h1>") == 1
    hrefs = set(re.findall(r'href="#([^"]+)"', page))
    assert hrefs and hrefs <= set(parser.ids)


# -- in a real browser -------------------------------------------------------------------------------------------

CHECK_PAGE = """\
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>check</title></head>
<body>
<pre id="verdict">pending</pre>
<iframe id="page" src="index.html" style="width: 1200px; height: 600px"></iframe>
<script>
// An iframe's load event waits for every image to load or fail; a failed one is complete with naturalWidth 0.
document.getElementById("page").addEventListener("load", (event) => {
  const images = Array.from(event.target.contentDocument.images);
  document.getElementById("verdict").textContent = JSON.stringify(images.map((img) => ({
    src: img.getAttribute("src"), complete: img.complete,
    naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
    width: img.getAttribute("width"), height: img.getAttribute("height"),
  })));
});
</script>
</body></html>
"""


def browser():
    return shutil.which("chromium") or next((p for p in ("/usr/bin/chromium",) if os.path.exists(p)), None)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def browser_verdict(exe, folder, profile):
    """Load ``folder/index.html`` in headless Chromium over HTTP; one record per <img> as the browser saw it."""
    (folder / "check.html").write_text(CHECK_PAGE)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/check.html"
        run = subprocess.run(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--virtual-time-budget=10000",
             "--dump-dom", url],
            capture_output=True, text=True, timeout=90)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    found = re.search(r'<pre id="verdict">(.*?)</pre>', run.stdout, re.S)
    assert found, f"no verdict from the browser (exit {run.returncode}): {run.stderr[-2000:]}"
    assert found.group(1) != "pending", "the page under test never finished loading"
    return json.loads(html.unescape(found.group(1)))


def broken(verdict):
    """Images that did not load, or whose natural size differs from their width/height attributes."""
    return [v["src"] for v in verdict
            if not (v["complete"] and str(v["naturalWidth"]) == v["width"]
                    and str(v["naturalHeight"]) == v["height"])]


def test_every_image_loads_in_a_browser_at_its_stated_size(tmp_path):
    exe = browser()
    if exe is None:
        pytest.skip("no headless browser: apt-get install chromium")
    write_scenes(tmp_path / "scenes")
    out = tmp_path / "out"
    build_gallery(tmp_path / "scenes", out)  # real renders: the sizes checked are the renderer's

    verdict = browser_verdict(exe, out, tmp_path / "profile")
    assert [v["src"] for v in verdict] == ["adam%20%26%20sgd.gif", "bowl.gif"]
    assert broken(verdict) == [], verdict

    (out / "adam & sgd.gif").unlink()
    verdict = browser_verdict(exe, out, tmp_path / "profile")
    assert broken(verdict) == ["adam%20%26%20sgd.gif"], verdict
    assert verdict[0]["naturalWidth"] == 0
