/* Sorting and filtering of the overview's case table, written for xai-report: no library, no network.
 *
 * The generator marks each row of that table with an empty, hidden <span class="case-row"> whose data
 * attributes say what to filter on (data-model, data-result, data-agree, data-search), and wraps each
 * measured number in <data value="..."> holding its unrounded value. This script turns the header cells
 * into sort buttons (numbers as numbers, text alphabetically, a second click reverses, missing values
 * last either way) and puts filter controls above the table. Without it the table is a plain table.
 */
(function () {
  "use strict";

  var MARKER = "span.case-row";
  var MISSING = ["", "\u2014", "n/a"]; // no value: nothing, "—" (not computed), "n/a" (undefined)

  function cellKey(cell) {
    var data = cell.querySelector("data[value]");
    if (data) {
      var number = parseFloat(data.value);
      return isFinite(number) ? number : null;
    }
    var text = cell.textContent.replace(/\s+/g, " ").trim();
    if (MISSING.indexOf(text) >= 0) return null;
    var plain = Number(text.replace(/%$/, ""));
    return text !== "" && isFinite(plain) ? plain : text.toLowerCase();
  }

  function compareKeys(a, b) {
    if (typeof a === "number" && typeof b === "number") return a - b;
    if (typeof a === "number") return -1; // numbers before words in a mixed column
    if (typeof b === "number") return 1;
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  }

  function CaseTable(table) {
    this.table = table;
    this.body = table.tBodies[0];
    this.headers = Array.prototype.slice.call(table.tHead ? table.tHead.rows[0].cells : []);
    this.rows = Array.prototype.map.call(this.body.rows, function (row, index) {
      var marker = row.querySelector(MARKER);
      return {
        element: row,
        index: index,
        data: marker ? marker.dataset : {},
        keys: {}, // column -> sort key, read from the cell when first needed
      };
    });
    this.sorted = null; // { column, ascending }
    this.makeSortable();
    this.makeFilters();
  }

  function key(row, column) {
    if (!(column in row.keys)) row.keys[column] = row.element.cells[column] ? cellKey(row.element.cells[column]) : null;
    return row.keys[column];
  }

  CaseTable.prototype.makeSortable = function () {
    var self = this;
    this.headers.forEach(function (header, column) {
      // A column with no value in any row (the thumbnails') gets no sort button.
      if (!self.rows.some(function (row) { return key(row, column) !== null; })) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "case-table-sort";
      button.title = "Sort by this column";
      while (header.firstChild) button.appendChild(header.firstChild);
      header.appendChild(button);
      button.addEventListener("click", function () {
        var again = self.sorted && self.sorted.column === column;
        self.sort(column, again ? !self.sorted.ascending : true);
      });
    });
  };

  CaseTable.prototype.sort = function (column, ascending) {
    var direction = ascending ? 1 : -1;
    var order = this.rows.slice().sort(function (a, b) {
      var x = key(a, column), y = key(b, column);
      if (x === null || y === null) {
        if (x === y) return a.index - b.index;
        return x === null ? 1 : -1; // missing values last, whichever the direction
      }
      return direction * compareKeys(x, y) || a.index - b.index;
    });
    var fragment = document.createDocumentFragment();
    order.forEach(function (row) { fragment.appendChild(row.element); });
    this.body.appendChild(fragment);
    this.headers.forEach(function (header, index) {
      if (index === column) header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      else header.removeAttribute("aria-sort");
    });
    this.sorted = { column: column, ascending: ascending };
  };

  CaseTable.prototype.distinct = function (name) {
    var seen = [];
    this.rows.forEach(function (row) {
      var value = row.data[name];
      if (value !== undefined && seen.indexOf(value) < 0) seen.push(value);
    });
    return seen;
  };

  function labelled(text, control) {
    var label = document.createElement("label");
    label.appendChild(document.createTextNode(text + " "));
    label.appendChild(control);
    return label;
  }

  function select(name, options) {
    var element = document.createElement("select");
    element.name = name;
    options.forEach(function (option) {
      element.appendChild(new Option(option[1], option[0]));
    });
    return element;
  }

  CaseTable.prototype.makeFilters = function () {
    var self = this;
    var bar = document.createElement("div");
    bar.className = "case-table-filters";
    bar.setAttribute("role", "search");
    this.search = document.createElement("input");
    this.search.type = "search";
    this.search.name = "case";
    this.search.placeholder = "case, label or class";
    bar.appendChild(labelled("Find", this.search));
    this.selects = {};
    var models = this.distinct("model");
    if (models.length > 1) {
      this.selects.model = select("model", [["", "every model"]].concat(models.map(function (m) { return [m, m]; })));
      bar.appendChild(labelled("Model", this.selects.model));
    }
    if (this.distinct("result").length) {
      this.selects.result = select("result", [["", "correct or wrong"], ["correct", "correct"], ["wrong", "wrong"]]);
      bar.appendChild(labelled("Top-1", this.selects.result));
    }
    if (this.distinct("agree").length) {
      this.selects.agree = select("agree", [["", "agree or not"], ["yes", "models agree"], ["no", "models disagree"]]);
      bar.appendChild(labelled("Models", this.selects.agree));
    }
    this.count = document.createElement("output");
    this.count.setAttribute("aria-live", "polite");
    bar.appendChild(this.count);
    [this.search].concat(Object.keys(this.selects).map(function (k) { return self.selects[k]; }))
      .forEach(function (control) {
        control.addEventListener("input", function () { self.filter(); });
      });
    var anchor = this.table.closest(".md-typeset__scrollwrap") || this.table;
    anchor.parentNode.insertBefore(bar, anchor);
    this.filter();
  };

  CaseTable.prototype.filter = function () {
    var query = this.search.value.trim().toLowerCase();
    var selects = this.selects;
    var shown = 0;
    this.rows.forEach(function (row) {
      var keep = !query || (row.data.search || "").toLowerCase().indexOf(query) >= 0;
      Object.keys(selects).forEach(function (name) {
        var wanted = selects[name].value;
        if (wanted && row.data[name] !== wanted) keep = false;
      });
      row.element.hidden = !keep;
      if (keep) shown += 1;
    });
    this.count.textContent = shown + " of " + this.rows.length + " rows";
  };

  function setUp() {
    Array.prototype.forEach.call(document.querySelectorAll("table"), function (table) {
      if (table.dataset.caseTable || !table.tBodies.length || !table.querySelector(MARKER)) return;
      table.dataset.caseTable = "ready";
      new CaseTable(table);
    });
  }

  // Material's instant navigation swaps pages without a load event and announces each through document$.
  if (window.document$ && typeof window.document$.subscribe === "function") window.document$.subscribe(setUp);
  else if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
