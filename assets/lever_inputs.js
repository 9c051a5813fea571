/* Scenarios: a value typed into a lever's number box applies on Enter, not only when the box
   loses focus. dcc.Slider's direct-input box commits its value on blur, so Enter blurs it (and
   gives the focus back, so the user can keep typing). */
document.addEventListener("keydown", function (event) {
  if (event.key !== "Enter") {
    return;
  }
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.closest(".lever-slider")) {
    return;
  }
  event.preventDefault();
  box.blur();
  box.focus();
});
