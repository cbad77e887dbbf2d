// Shows each timezone picker's search box and narrows its <select> as the learner types. Without this script the
// grouped <select> works on its own; what is posted is always the selected option's IANA name.
(function () {
  "use strict";
  function normalise(text) {
    return text.toLowerCase().replace(/[_/()]+/g, " ").replace(/\s+/g, " ").trim();
  }
  function setUp(picker) {
    var filter = picker.querySelector("[data-tz-filter]");
    var select = picker.querySelector("select");
    var none = picker.querySelector("[data-tz-none]");
    if (!filter || !select || picker.dataset.ready) return;
    picker.dataset.ready = "1";
    filter.hidden = false;
    filter.addEventListener("input", function () {
      var words = normalise(filter.value).split(" ").filter(Boolean);
      var first = null;
      var selectedShown = false;
      Array.prototype.forEach.call(select.options, function (option) {
        var text = normalise(option.textContent + " " + option.value);
        var shown = words.every(function (word) { return text.indexOf(word) !== -1; });
        option.hidden = !shown;
        if (shown && first === null) first = option;
        if (shown && option.selected) selectedShown = true;
      });
      Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
        group.hidden = !Array.prototype.some.call(group.children, function (option) { return !option.hidden; });
      });
      if (!selectedShown && first !== null) {
        select.value = first.value;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
      if (none) none.hidden = first !== null;
    });
  }
  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-tz-picker]"), setUp);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
