// omnimeter billing pages: the forecast tick's position and the statement's print button (the CSP allows
// no inline script or style).
document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll("[data-left]")) el.style.left = `${el.dataset.left}%`;
  const print = document.getElementById("print");
  if (print) print.addEventListener("click", () => window.print());
});
