"""The class page on a projector: 200 students at 1280x720, measured in headless chromium."""

from __future__ import annotations

import pytest

from classroom.checking import page

from .browser import keep
from .test_class_page import TODAY, big_report

# WCAG 2 contrast of every element's own text against what is really behind it: the nearest
# opaque background of its HTML ancestors, or for SVG text the shape drawn under it.
CONTRAST = """
() => {
  function rgba(text) {
    const m = text.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  }
  function over(top, under) {
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]);
  }
  function background(el) {
    const layers = [];
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let colour = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) colour = over(layers[i], colour);
    return colour;
  }
  function svgBackground(el) {
    el.scrollIntoView({block: 'center'});
    const box = el.getBoundingClientRect();
    const hits = document.elementsFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    for (const h of hits) {
      if (h === el || el.contains(h)) continue;
      if (h instanceof SVGGeometryElement) {
        const fill = rgba(getComputedStyle(h).fill);
        if (fill) return fill;
        continue;
      }
      return background(h);
    }
    return background(el.parentElement);
  }
  function luminance(c) {
    const [r, g, b] = c.slice(0, 3).map(v => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  const found = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
    if (el.closest('title, script, style')) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const svg = el instanceof SVGElement;
    const style = getComputedStyle(el);
    const bg = svg ? svgBackground(el) : background(el);
    const fg = over(rgba(svg ? style.fill : style.color), bg);
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
    found.push({
      text: el.textContent.trim().slice(0, 40), tag: el.tagName.toLowerCase(),
      cls: String(el.className.baseVal !== undefined ? el.className.baseVal : el.className),
      ratio: Math.round((hi + 0.05) / (lo + 0.05) * 100) / 100,
    });
  }
  return found;
}
"""


@pytest.fixture(scope="module")
def big_page(tmp_path_factory):
    return page.write_class_page(
        tmp_path_factory.mktemp("projector") / "class.html", big_report(200), today=TODAY
    )


@pytest.fixture
def projector(browser, big_page):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, device_scale_factor=1)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.goto(big_page.as_uri())
    yield tab
    context.close()
    # The page's own script and style run under its Content-Security-Policy (no violation, no error).
    assert problems == []


def test_the_header_stays_at_the_top_while_the_table_scrolls(projector):
    tab = projector
    head = tab.locator("#students thead th").first
    tab.mouse.wheel(0, 4000)
    tab.wait_for_function("window.scrollY >= 4000")
    assert tab.evaluate("window.scrollY") == 4000
    assert head.bounding_box()["y"] == pytest.approx(0, abs=1)
    # And the rows really moved under it: the first row is far above the screen.
    assert tab.locator("#students tbody tr").first.bounding_box()["y"] < -3000


def test_every_sort_header_is_reached_with_tab_and_sorts_with_enter(projector):
    tab = projector
    keys = tab.locator("#students thead button.sort").evaluate_all(
        "els => els.map(e => e.dataset.sort)"
    )
    assert keys == ["student", "rank", "expires", "guard", "idle", "hour"]
    reached = []
    for _ in range(40):
        tab.keyboard.press("Tab")
        key = tab.evaluate("document.activeElement.dataset.sort || null")
        if key:
            reached.append(key)
        if len(reached) == len(keys):
            break
    assert reached == keys
    names = lambda: tab.locator("#students tbody th.student").evaluate_all(  # noqa: E731
        "els => els.slice(0, 3).map(e => e.firstChild.textContent)"
    )
    tab.focus('button[data-sort="student"]')
    tab.keyboard.press("Enter")
    assert names() == ["s000", "s001", "s002"]
    assert tab.get_attribute("#students thead th:first-child", "aria-sort") == "ascending"
    tab.keyboard.press("Enter")
    assert names() == ["s199", "s198", "s197"]
    tab.focus('button[data-sort="rank"]')
    tab.keyboard.press("Enter")
    assert names() == ["s007", "s011", "s057"]
    # The cost guards that are off first.
    tab.focus('button[data-sort="guard"]')
    tab.keyboard.press("Enter")
    assert names() == ["s011", "s061", "s111"]


def test_the_tile_view_shows_the_whole_class_on_one_screen(projector, tmp_path):
    tab = projector
    tab.click("#view-tiles")
    tiles = tab.locator(".tile")
    assert tiles.count() == 200
    boxes = tiles.evaluate_all(
        "els => els.map(e => { const b = e.getBoundingClientRect(); "
        "return [b.top, b.bottom, b.left, b.right, e.scrollWidth > e.clientWidth]; })"
    )
    assert all(
        top >= 0 and bottom <= 720 and left >= 0 and right <= 1280
        for top, bottom, left, right, _ in boxes
    )
    assert tab.evaluate("document.documentElement.scrollHeight") <= 720
    # Name and state written in each tile, readable (not shrunk below 11 px).
    first = tab.locator('.tile[data-student="s007"]')
    assert first.locator(".name").inner_text() == "s007"
    assert first.locator(".state").inner_text() == "Not ready"
    assert tab.locator('.tile[data-student="s009"] .state').inner_text() == "Check"
    assert (
        min(
            tiles.evaluate_all(
                "els => els.map(e => parseFloat(getComputedStyle(e.querySelector('.state')).fontSize))"
            )
        )
        >= 9
    )
    assert not any(clipped for *_, clipped in boxes)
    tab.screenshot(path=str(tmp_path / "class-tiles.png"))
    keep(tmp_path / "class-tiles.png", "class-tiles.png", docs=True)
    # Problems only, in tiles: the 4 not ready, the 4 whose cost guard is off and the 4 with
    # a warning, bigger now.
    tab.click('#tiles button[data-filter="problems"]')
    assert tab.locator(".tile:visible").count() == 12
    assert tab.locator(".tile:visible").first.bounding_box()["width"] > 150


def test_large_text_keeps_every_column_on_the_screen(projector):
    tab = projector
    tab.click("#large")
    assert tab.evaluate("document.documentElement.scrollWidth") <= 1280
    for cls in ("expires", "idle", "hour"):
        box = tab.locator(f"#students tbody tr td.{cls}").first.bounding_box()
        assert box["x"] + box["width"] <= 1280, cls
    # More than a couple of rows on the screen under the header (the first rows have problems,
    # so they are the tallest).
    tab.evaluate("document.querySelector('#students tbody').scrollIntoView()")
    visible = tab.evaluate(
        "Array.from(document.querySelectorAll('#students tbody tr')).filter(r => {"
        "const b = r.getBoundingClientRect(); return b.top >= 0 && b.bottom <= innerHeight; }).length"
    )
    assert visible >= 6


@pytest.mark.parametrize("mode", ["table", "large", "tiles"])
def test_every_text_has_contrast_of_at_least_4_5(projector, mode):
    tab = projector
    if mode == "large":
        tab.click("#large")
    if mode == "tiles":
        tab.click("#view-tiles")
    measured = tab.evaluate(CONTRAST)
    assert len(measured) > (150 if mode == "tiles" else 400)
    low = [m for m in measured if m["ratio"] < 4.5]
    assert low == []
    if mode != "tiles":  # the chart's segment labels were measured, on their fills
        assert any(m["cls"] == "seg-label" for m in measured)
