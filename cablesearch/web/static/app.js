// cablesearch: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  function isTyping(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  // "/" focuses the search box; Escape leaves it.
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "/" && !ev.ctrlKey && !ev.metaKey && !ev.altKey && !isTyping(document.activeElement)) {
      var box = document.querySelector("input.q-input");
      if (box) {
        ev.preventDefault();
        box.focus();
        box.select();
      }
    } else if (ev.key === "Escape" && document.activeElement && document.activeElement.classList.contains("q-input")) {
      document.activeElement.blur();
    }
  });

  // Cable page: a "Copy link" button on each paragraph; the original text opens from its link.
  var copyButtons = document.querySelectorAll("button.copy-link");
  for (var c = 0; c < copyButtons.length; c++) {
    copyButtons[c].hidden = false;
    copyButtons[c].addEventListener("click", function (ev) {
      var button = ev.currentTarget;
      var url = window.location.origin + window.location.pathname + "#" + button.getAttribute("data-anchor");
      var done = function () {
        button.textContent = "Link copied";
        button.classList.add("copied");
        history.replaceState(null, "", "#" + button.getAttribute("data-anchor"));
        setTimeout(function () { button.textContent = "Copy link"; button.classList.remove("copied"); }, 2000);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(url).then(done, function () { window.prompt("Copy this link:", url); });
      } else {
        window.prompt("Copy this link:", url);
      }
    });
  }
  var openOriginal = function () {
    var original = document.getElementById("original");
    if (original && window.location.hash === "#original") original.open = true;
  };
  openOriginal();
  window.addEventListener("hashchange", openOriginal);
  var printNow = document.getElementById("print-now");
  if (printNow) {
    printNow.hidden = false;
    printNow.addEventListener("click", function () { window.print(); });
  }

  // A filter box over a long facet list: hides the values whose code, name or description
  // does not hold the typed text (all values are on the page after "Show all").
  var filters = document.querySelectorAll("input.facet-filter");
  for (var f = 0; f < filters.length; f++) {
    filters[f].hidden = false;
    filters[f].addEventListener("input", function (ev) {
      var box = ev.currentTarget;
      var facet = box.closest("details.facet");
      var needle = box.value.trim().toLowerCase();
      var items = facet.querySelectorAll("li[data-text]");
      var shown = 0;
      for (var k = 0; k < items.length; k++) {
        var hit = !needle || items[k].getAttribute("data-text").indexOf(needle) !== -1;
        items[k].hidden = !hit;
        if (hit) shown++;
      }
      var none = facet.querySelector(".facet-none");
      if (none) none.hidden = shown > 0;
    });
  }

  // On a phone the facet lists start folded, so the results come first.
  if (window.matchMedia && window.matchMedia("(max-width: 900px)").matches) {
    var facets = document.querySelectorAll("details.facet");
    for (var i = 0; i < facets.length; i++) {
      if (!facets[i].querySelector(".facet-link.active")) facets[i].open = false;
    }
  }

  // With --watch, tell the reader when new cables were indexed while the page is open.
  if (document.body.getAttribute("data-watching") === "1" && window.fetch) {
    var notice = document.getElementById("live-notice");
    var first = null;
    var countOf = function (stats) {
      var n = stats.cables;
      if (n === undefined) n = stats.doc_count;
      if (n === undefined) n = stats.count;
      return typeof n === "number" ? n : null;
    };
    var poll = function () {
      fetch("/api/stats", { headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (stats) {
          if (!stats) return;
          var n = countOf(stats);
          var stamp = JSON.stringify([n, stats.last_update || stats.last_updated || null]);
          if (first === null) { first = { stamp: stamp, n: n }; return; }
          if (stamp !== first.stamp && notice) {
            var added = (n !== null && first.n !== null) ? n - first.n : null;
            notice.textContent = "";
            var text = document.createElement("span");
            text.textContent = added > 0
              ? added + (added === 1 ? " new cable was" : " new cables were") + " indexed. "
              : "The index has changed. ";
            var link = document.createElement("a");
            link.href = window.location.href;
            link.textContent = "Refresh";
            notice.appendChild(text);
            notice.appendChild(link);
            notice.hidden = false;
          }
        })
        .catch(function () {});
    };
    poll();
    setInterval(poll, 4000);
  }
})();
