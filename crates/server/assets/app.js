// shareledger web app: the few things a page does in the browser.
// Copy buttons (filing sheet, checkpoint), and a CSV file read into its textarea.
document.addEventListener("click", function (ev) {
  var b = ev.target.closest("button.copy");
  if (!b) return;
  var text = b.getAttribute("data-copy") || "";
  var done = function () {
    b.classList.add("done");
    b.textContent = "Copied";
    setTimeout(function () { b.classList.remove("done"); b.textContent = "Copy"; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
  } else { fallback(text); done(); }
});
function fallback(text) {
  var t = document.createElement("textarea");
  t.value = text; t.setAttribute("readonly", ""); t.style.position = "fixed"; t.style.opacity = "0";
  document.body.appendChild(t); t.select();
  try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
  document.body.removeChild(t);
}
document.addEventListener("change", function (ev) {
  var input = ev.target;
  if (!input.matches || !input.matches("input[type=file][data-fill]")) return;
  var target = document.getElementById(input.getAttribute("data-fill"));
  var file = input.files && input.files[0];
  if (!target || !file) return;
  var reader = new FileReader();
  reader.onload = function () { target.value = reader.result; };
  reader.readAsText(file);
});
// "Show N more": reveal what a page keeps folded.
document.addEventListener("click", function (ev) {
  var b = ev.target.closest("button[data-show]");
  if (!b) return;
  var t = document.getElementById(b.getAttribute("data-show"));
  if (t) { t.hidden = false; b.parentNode.removeChild(b); }
});
