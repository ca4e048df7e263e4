// Clausewatch: small progressive enhancements. Every control works without this file.
"use strict";

// Filters submitted by htmx: leave empty fields out, so pushed (and shared) URLs stay short.
document.addEventListener("htmx:configRequest", (event) => {
  const form = event.detail.formData;
  if (!form || event.detail.verb !== "get") return;
  for (const [name, value] of Array.from(form.entries())) {
    if (value === "") form.delete(name);
  }
});

// After htmx replaces the results, tell screen-reader users (through a status region that
// stays in the page, so it is announced) and keep keyboard focus sensible.
document.addEventListener("htmx:afterSwap", (event) => {
  const target = event.detail.target;
  if (!target || target.id !== "results") return;
  const status = document.getElementById("timeline-status");
  const count = target.querySelector(".count");
  if (status && count) status.textContent = count.textContent;
  const trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
  if (trigger && trigger.closest && trigger.closest(".pager")) {
    const heading = target.querySelector(".count");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  }
});
