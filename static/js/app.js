// Small progressive enhancements; every page works without this file.
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select) select.form.requestSubmit();
});
document.documentElement.classList.add("js");

// The draft editor's live verdict (plans/templates/plans/editor.html) carries the form's errors:
// by input name ("fields") and by row or list ("groups"). A field the planner has filled in, or
// that already shows an error, is marked; a mark clears as soon as its field is valid. An empty
// field is left alone while the planner is still on the way to it ("Add channel" adds a row to
// fill in, not a row of errors): the verdict names it instead, and saving marks it.
function errorItems(messages) {
  return messages.map((message) => {
    const item = document.createElement("li");
    item.textContent = message;
    return item;
  });
}

function markField(input, messages) {
  const listId = "err_" + input.name;
  const wrapper = input.closest(".field");
  const marked = input.getAttribute("aria-invalid") === "true";
  if (messages.length === 0 || (!marked && input.value.trim() === "")) {
    if (messages.length === 0 && marked) {
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
      if (wrapper) wrapper.classList.remove("field-invalid");
      document.getElementById(listId)?.remove();
    }
    return;
  }
  let list = document.getElementById(listId);
  if (!list) {
    list = document.createElement("ul");
    list.className = "errorlist";
    list.id = listId;
    const hint = wrapper?.querySelector(".hint");
    (hint || input).insertAdjacentElement("afterend", list);
  }
  list.replaceChildren(...errorItems(messages));
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", listId);
  if (wrapper) wrapper.classList.add("field-invalid");
}

document.addEventListener("htmx:afterSwap", (event) => {
  const verdict = event.detail.target;
  if (!verdict || verdict.id !== "verdict") return;
  const form = verdict.closest("form");
  const data = document.getElementById("verdict-errors");
  const errors = data ? JSON.parse(data.textContent) : { fields: {}, groups: {} };
  // The draft's own fields (kind, reason) are checked on save only.
  form.querySelectorAll("input[name]:not([data-saved-only]), textarea[name]").forEach((input) => {
    if (input.type !== "hidden") markField(input, errors.fields[input.name] || []);
  });
  form.querySelectorAll("[data-error-group]").forEach((list) => {
    const messages = errors.groups[list.dataset.errorGroup] || [];
    list.replaceChildren(...errorItems(messages));
    list.hidden = messages.length === 0;
  });
  const anyError = Object.keys(errors.fields).length + Object.keys(errors.groups).length > 0;
  if (!anyError) form.querySelector("[data-save-refused]")?.remove();
});

// In flight: while htmx sends a form (or a button), every button of it is disabled, so a second
// click can't send it twice, and the pressed one spins (app.css "In flight") until the answer.
// Only what a person sent (a submit, a click): a form's live checks and polls leave it usable.
document.addEventListener("htmx:beforeRequest", (event) => {
  const trigger = event.detail.requestConfig?.triggeringEvent;
  if (!trigger || (trigger.type !== "submit" && trigger.type !== "click")) return;
  const elt = event.detail.elt;
  const buttons = elt.matches("button") ? [elt] : Array.from(elt.querySelectorAll("button"));
  const pressed = event.detail.requestConfig?.triggeringEvent?.submitter || elt;
  for (const button of buttons) {
    if (button.disabled) continue;
    button.disabled = true;
    button.dataset.inFlight = button === pressed ? "pressed" : "held";
  }
});
document.addEventListener("htmx:afterRequest", (event) => {
  // An answer that leaves the page (HX-Redirect: an approved recommendation opens its draft)
  // keeps the buttons held until the next page replaces them.
  if (event.detail.xhr?.getResponseHeader("HX-Redirect")) return;
  for (const button of event.detail.elt.querySelectorAll("button[data-in-flight]")) {
    button.disabled = false;
    delete button.dataset.inFlight;
  }
  if (event.detail.elt.dataset.inFlight) {
    event.detail.elt.disabled = false;
    delete event.detail.elt.dataset.inFlight;
  }
});
