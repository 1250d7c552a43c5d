/* The case page's explanation viewer, written for xai-report: no library, no network.
 *
 * The generator leaves on each case page a <script type="application/json" class="map-viewer-data"> with the
 * crop, every explanation's map (an 8-bit grayscale PNG whose pixels are entries of a 256-colour table) and the
 * tables themselves (generator/render/viewer.py). This script puts a viewer after it: the crop with one map over
 * it, controls for the model, the method and the target, an opacity slider, and a side-by-side mode that shows
 * two models or two methods whose other controls move together. The maps are coloured by an SVG filter whose
 * lookup table is the colour table (feFuncR/G/B type="discrete", 256 entries: grey level g gives entry g), and
 * laid over the crop with the slider's opacity: at the static figures' opacity the viewer shows their blend.
 * Without the script, or on the print page, the page keeps its static figures only.
 */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var viewers = 0;

  function element(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "text") node.textContent = attributes[name];
      else node.setAttribute(name, attributes[name]);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function labelled(text, control) {
    return element("label", { class: "map-viewer-control" }, [element("span", { text: text }), control]);
  }

  function select(name, options) {
    var node = element("select", { name: name });
    options.forEach(function (option) {
      node.appendChild(element("option", { value: option.value, text: option.text }));
    });
    return node;
  }

  /* One SVG filter per colour table: each channel looked up in its 256 entries. */
  function colourFilters(colormaps, prefix) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("class", "map-viewer-filters");
    svg.setAttribute("width", "0");
    svg.setAttribute("height", "0");
    svg.setAttribute("aria-hidden", "true");
    var ids = {};
    Object.keys(colormaps).forEach(function (name, index) {
      var table = colormaps[name];
      var filter = document.createElementNS(SVG_NS, "filter");
      var id = prefix + "-colours-" + index;
      filter.setAttribute("id", id);
      filter.setAttribute("color-interpolation-filters", "sRGB");
      var transfer = document.createElementNS(SVG_NS, "feComponentTransfer");
      ["R", "G", "B"].forEach(function (channel, c) {
        var values = [];
        for (var i = 0; i < table.length / 3; i++) values.push((table[3 * i + c] / 255).toFixed(6));
        var func = document.createElementNS(SVG_NS, "feFunc" + channel);
        func.setAttribute("type", "discrete");
        func.setAttribute("tableValues", values.join(" "));
        transfer.appendChild(func);
      });
      filter.appendChild(transfer);
      svg.appendChild(filter);
      ids[name] = id;
    });
    return { svg: svg, ids: ids };
  }

  function Stage(viewer) {
    this.crop = element("img", { class: "map-viewer-crop", alt: "", src: viewer.data.crop, draggable: "false" });
    this.map = element("img", { class: "map-viewer-map", alt: "", draggable: "false" });
    this.missing = element("p", { class: "map-viewer-missing", text: "not computed" });
    this.picture = element("div", { class: "map-viewer-picture" }, [this.crop, this.missing]);
    this.caption = element("figcaption");
    this.node = element("figure", { class: "map-viewer-stage" }, [this.picture, this.caption]);
  }

  Stage.prototype.show = function (viewer, choice, opacity) {
    var found = viewer.maps[[choice.model, choice.method, choice.target].join("\u0000")];
    var method = viewer.methods[choice.method];
    this.caption.textContent = [viewer.models[choice.model].label, method.title, choice.target].join(" \u00b7 ");
    this.map.hidden = !found;
    this.missing.hidden = !!found;
    if (found) {
      if (this.map.getAttribute("src") !== found.src) this.map.setAttribute("src", found.src);
      if (!this.map.parentNode) this.picture.insertBefore(this.map, this.missing); // in the page once it has a map
      this.map.style.filter = "url(#" + viewer.filters[method.colormap] + ")";
      this.map.style.opacity = String(opacity);
      this.map.alt = this.caption.textContent;
    }
  };

  function Viewer(script, data) {
    var self = this;
    this.data = data;
    this.models = {};
    this.methods = {};
    this.maps = {};
    data.models.forEach(function (model) { self.models[model.key] = model; });
    data.methods.forEach(function (method) { self.methods[method.name] = method; });
    data.maps.forEach(function (entry) {
      self.maps[[entry.model, entry.method, entry.target].join("\u0000")] = entry;
    });
    var prefix = "map-viewer-" + viewers++;
    var colours = colourFilters(data.colormaps, prefix);
    this.filters = colours.ids;

    var modelOptions = data.models.map(function (m) { return { value: m.key, text: m.label }; });
    var methodOptions = data.methods.map(function (m) { return { value: m.name, text: m.title }; });
    this.model = select("model", modelOptions);
    this.method = select("method", methodOptions);
    this.target = select("target", data.targets.map(function (t) { return { value: t, text: t }; }));
    this.opacity = element("input", { type: "range", name: "opacity", min: "0", max: "100", step: "1",
                                      value: String(data.opacity) });
    this.opacityShown = element("output", { text: data.opacity + "%" });
    this.side = element("input", { type: "checkbox", name: "side" });
    var comparable = [];
    if (data.models.length > 1) comparable.push({ value: "model", text: "two models" });
    if (data.methods.length > 1) comparable.push({ value: "method", text: "two methods" });
    this.compare = select("compare", comparable);
    this.second = select("second", []);
    this.modelOptions = modelOptions;
    this.methodOptions = methodOptions;

    var controls = [
      labelled("Model", this.model),
      labelled("Method", this.method),
      labelled("Target", this.target),
      element("label", { class: "map-viewer-control" },
              [element("span", { text: "Opacity" }), this.opacity, this.opacityShown]),
    ];
    this.sideControls = [labelled("Compare", this.compare), labelled("Beside it", this.second)];
    if (comparable.length) {
      controls.push(element("label", { class: "map-viewer-control map-viewer-toggle" },
                            [this.side, element("span", { text: "Side by side" })]));
      controls = controls.concat(this.sideControls);
    }
    this.stages = [new Stage(this), new Stage(this)];
    this.node = element("div", { class: "map-viewer", role: "group", "aria-label": "Explanation viewer" }, [
      element("p", { class: "map-viewer-title", text: "Explore the maps: one explanation over the crop" }),
      element("div", { class: "map-viewer-controls" }, controls),
      element("div", { class: "map-viewer-stages" }, [this.stages[0].node, this.stages[1].node]),
      colours.svg,
    ]);
    [this.model, this.method, this.target, this.second].forEach(function (control) {
      control.addEventListener("change", function () { self.update(); });
    });
    this.opacity.addEventListener("input", function () { self.update(); });
    this.side.addEventListener("change", function () { self.fillSecond(); self.update(); });
    this.compare.addEventListener("change", function () { self.fillSecond(); self.update(); });
    this.fillSecond();
    script.parentNode.insertBefore(this.node, script.nextSibling);
    this.update();
  }

  /* The second stage's choices: the other models, or the other methods; the next one after the first is picked. */
  Viewer.prototype.fillSecond = function () {
    var byModel = this.compare.value === "model";
    var options = byModel ? this.modelOptions : this.methodOptions;
    var first = byModel ? this.model.value : this.method.value;
    var previous = this.second.value;
    this.second.textContent = "";
    var self = this;
    options.forEach(function (option) {
      self.second.appendChild(element("option", { value: option.value, text: option.text }));
    });
    var values = options.map(function (option) { return option.value; });
    if (values.indexOf(previous) >= 0 && previous !== first) this.second.value = previous;
    else this.second.value = values[(values.indexOf(first) + 1) % values.length];
  };

  Viewer.prototype.update = function () {
    var opacity = Number(this.opacity.value) / 100;
    this.opacityShown.textContent = this.opacity.value + "%";
    var first = { model: this.model.value, method: this.method.value, target: this.target.value };
    this.stages[0].show(this, first, opacity);
    var side = this.side.checked;
    this.sideControls.forEach(function (control) { control.hidden = !side; });
    this.stages[1].node.hidden = !side;
    this.node.classList.toggle("map-viewer-side", side);
    if (side) {
      var second = { model: first.model, method: first.method, target: first.target };
      second[this.compare.value] = this.second.value;
      this.stages[1].show(this, second, opacity);
    }
  };

  function start() {
    if (document.getElementById("print-site-page")) return; // the print page keeps the static figures
    Array.prototype.forEach.call(document.querySelectorAll("script.map-viewer-data"), function (script) {
      if (script.dataset.viewer) return;
      script.dataset.viewer = "ready";
      new Viewer(script, JSON.parse(script.textContent));
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
