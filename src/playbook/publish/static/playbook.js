/* Growth Playbook archive: optional enhancements (filter box, sortable columns).
   Every page reads fine without JavaScript. */
(function () {
  "use strict";
  function rows(table) { return Array.prototype.slice.call(table.tBodies[0].rows); }

  /* A table's filters: the words of its search box (every one in the row's text) and its
     language select (the row's cell with data-language); a row shows when it passes both. */
  function applyFilters(table) {
    var box = document.querySelector('input[data-filter="' + table.id + '"]');
    var select = document.querySelector('select[data-filter-language="' + table.id + '"]');
    var terms = box ? box.value.toLowerCase().split(/\s+/).filter(Boolean) : [];
    var language = select ? select.value : "";
    rows(table).forEach(function (row) {
      var text = row.textContent.toLowerCase();
      var cell = row.querySelector("[data-language]");
      var inLanguage = !language || (cell && cell.getAttribute("data-language") === language);
      row.hidden = !(inLanguage && terms.every(function (t) { return text.indexOf(t) !== -1; }));
    });
  }

  document.querySelectorAll("input[data-filter], select[data-filter-language]").forEach(function (control) {
    var table = document.getElementById(control.getAttribute("data-filter") ||
                                        control.getAttribute("data-filter-language"));
    if (!table) { return; }
    control.hidden = false;
    control.addEventListener(control.tagName === "SELECT" ? "change" : "input", function () {
      applyFilters(table);
    });
  });

  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, col) {
      th.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var key = function (row) {
          var cell = row.cells[col];
          var v = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
          var n = Number(v);
          return v !== "" && !isNaN(n) ? n : v.toLowerCase();
        };
        var sorted = rows(table).sort(function (a, b) {
          var x = key(a), y = key(b);
          if (typeof x !== typeof y) { x = String(x); y = String(y); }
          return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
        });
        sorted.forEach(function (row) { table.tBodies[0].appendChild(row); });
      });
    });
  });
})();
