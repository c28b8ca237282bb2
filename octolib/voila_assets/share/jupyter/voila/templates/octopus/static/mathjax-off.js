/* octopus: MathJax is not loaded from a CDN. The dashboards show no LaTeX; this local,
   empty script stands where the page configuration names a MathJax URL
   (fullMathjaxUrl), so the page never asks a server outside this one. */
