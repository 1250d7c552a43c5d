/* Paging of the overview's gallery of cases, written for xai-report: no library, no network.
 *
 * The generator writes one card per case into <div class="case-gallery">. With more than PAGE cards this
 * script shows the first PAGE and, below the grid, how many are shown with two buttons: "Show PAGE more" and
 * "Show all". Hidden cards fetch nothing (their thumbnails are lazy and not rendered), so a report of 1,000
 * cases keeps its plots and case table a few screens down. Keyboard: the buttons are buttons; after "more",
 * focus moves to the first newly shown case. Without JavaScript, on the print page and in print, every card
 * is shown.
 */
(function () {
  "use strict";

  var PAGE = 60; // cards per step: a whole number of rows at 2, 3, 4, 5 or 6 columns

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text) node.textContent = text;
    return node;
  }

  function Pager(gallery) {
    this.cards = Array.prototype.slice.call(gallery.querySelectorAll(".case-card"));
    this.shown = 0;
    this.status = element("span", { "class": "case-gallery-status", "aria-live": "polite" });
    this.more = element("button", { "type": "button", "class": "md-button case-gallery-button" });
    this.all = element("button", { "type": "button", "class": "md-button case-gallery-button" }, "Show all");
    this.controls = element("p", { "class": "case-gallery-more" });
    [this.status, this.more, this.all].forEach(function (node) { this.controls.appendChild(node); }, this);
    gallery.parentNode.insertBefore(this.controls, gallery.nextSibling);
    var pager = this;
    this.more.addEventListener("click", function () { pager.show(pager.shown + PAGE, true); });
    this.all.addEventListener("click", function () { pager.show(pager.cards.length, true); });
    this.show(PAGE, false);
  }

  Pager.prototype.show = function (count, moveFocus) {
    var first = this.shown;
    this.shown = Math.min(count, this.cards.length);
    this.cards.forEach(function (card, index) { card.hidden = index >= this.shown; }, this);
    var left = this.cards.length - this.shown;
    this.status.textContent = "Showing " + this.shown + " of " + this.cards.length + " cases";
    this.more.textContent = "Show " + Math.min(PAGE, left) + " more";
    this.controls.hidden = left === 0;
    if (moveFocus && first < this.shown) {
      var link = this.cards[first].querySelector("a.case-card-title");
      if (link) link.focus();
    }
  };

  function start() {
    if (document.getElementById("print-site-page")) return; // the print page keeps every card
    document.querySelectorAll(".md-typeset .case-gallery").forEach(function (gallery) {
      if (gallery.querySelectorAll(".case-card").length > PAGE) new Pager(gallery);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
