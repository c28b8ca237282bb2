/* octopus: MathJax is not loaded from a CDN. The dashboards show no LaTeX; this local
   script stands where the page configuration names a MathJax URL (fullMathjaxUrl), so the
   page never asks a server outside this one.

   It must not be empty: Voila's MathJax 2 typesetter loads this URL when it renders a
   Markdown cell and then configures the global MathJax object; an empty file left every
   page with an uncaught "MathJax is not defined". This is that object's MathJax 2 surface
   as the typesetter uses it, doing nothing: text stays as written. */
(function () {
  "use strict";
  if (window.MathJax) { return; }
  function nothing() {}
  window.MathJax = {
    Hub: {
      config: {},
      Config: nothing,
      Configured: nothing,
      Queue: nothing,
      Register: { StartupHook: nothing }
    },
    Ajax: {},
    InputJax: { TeX: { resetEquationNumbers: nothing } }
  };
})();
