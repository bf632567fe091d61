// Copy buttons: the only script in the portal. A button with data-copy="ID" copies the text
// of the element with that id, and says so where screen readers hear it.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  event.preventDefault();
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    const label = button.textContent;
    button.textContent = "Copied";
    button.setAttribute("aria-live", "polite");
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});

// A SAML test login over the POST binding: the form goes to the IdP on its own.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-autopost]");
  if (form) form.submit();
});
