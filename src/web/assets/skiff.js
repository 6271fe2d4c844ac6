// Live regions: an element with data-live="<url>" is replaced every 5 s by
// what the server renders at that url, unless the person is working inside
// it (focus there), so keyboard users never lose their place.
(function () {
  async function refresh(el) {
    if (el.contains(document.activeElement)) return;
    try {
      const r = await fetch(el.dataset.live, {credentials: "same-origin", headers: {"Accept": "text/html"}});
      if (r.ok && !el.contains(document.activeElement)) el.innerHTML = await r.text();
    } catch (e) {}
  }
  setInterval(function () {
    document.querySelectorAll("[data-live]").forEach(refresh);
  }, 5000);
})();
