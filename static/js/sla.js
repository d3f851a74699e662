// Live SLA timers. The server renders the text and colour (so pages work without this file);
// this only keeps them ticking. Same rule as approvals/inbox.py: amber when under 4 hours or
// under a quarter of the window is left, red once overdue.
(function () {
  const AMBER_MS = 4 * 60 * 60 * 1000;
  const AMBER_FRACTION = 0.25;
  const STATES = ["sla-ok", "sla-amber", "sla-red"];

  function span(ms) {
    let minutes = Math.floor(ms / 60000);
    const days = Math.floor(minutes / 1440);
    minutes -= days * 1440;
    const hours = Math.floor(minutes / 60);
    minutes -= hours * 60;
    if (days) return days + "d " + hours + "h";
    if (hours) return minutes ? hours + "h " + minutes + "m" : hours + "h";
    return minutes + "m";
  }

  function tick(el, now) {
    const due = Date.parse(el.dataset.slaDue);
    if (Number.isNaN(due)) return;
    const opened = Date.parse(el.dataset.slaOpened || "");
    const left = due - now;
    let state;
    if (left <= 0) {
      state = "sla-red";
      el.textContent = "overdue " + span(-left);
    } else {
      const window = Number.isNaN(opened) ? 0 : due - opened;
      state = left < AMBER_MS || left < window * AMBER_FRACTION ? "sla-amber" : "sla-ok";
      el.textContent = span(left) + " left";
    }
    STATES.forEach((name) => el.classList.toggle(name, name === state));
  }

  function tickAll() {
    const now = Date.now();
    document.querySelectorAll("[data-sla-due]").forEach((el) => tick(el, now));
  }

  document.addEventListener("DOMContentLoaded", tickAll);
  // Regions swapped in by htmx carry fresh timers.
  document.addEventListener("htmx:afterSettle", tickAll);
  setInterval(tickAll, 30000);
})();
