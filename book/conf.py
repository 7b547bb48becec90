"""Sphinx configuration of the lab book (Sphinx + MyST-NB + sphinx-book-theme).

``labhelpers book`` (labhelpers_course.book) copies this folder into a staging tree together with
the executed notebooks and runs ``sphinx-build -W`` on it, with ``-t instructor`` for the
instructor edition. Nothing here may make a page load anything from outside the site: MathJax is
served from ``_static/mathjax`` (copied from the npm package ``mathjax``), widget JavaScript is
switched off, and the theme's fonts and icons are its own static files.
"""

project = "Cloud remote sensing with the Planetary Computer"
author = "the lab's authors (CITATION.cff)"
copyright = "2026, the lab's authors"  # noqa: A001 (Sphinx's name)

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md"]
# A notebook's first cell puts "### Learning objectives" under its "# N. Title" (the lab's convention,
# as in Carpentries episodes): MyST would warn about the skipped level, and warnings fail the build.
suppress_warnings = ["myst.header"]

# --- notebooks: render the stored outputs, never execute -------------------------------------
nb_execution_mode = "off"
# Widget views (tqdm.auto, distributed.progress) would need require.js and the widget manager from
# a CDN; labhelpers book replaces them by their last text, and this keeps any left-over from
# pulling scripts in.
nb_ipywidgets_js = {}
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_merge_streams = True
# Tracebacks (cells tagged raises-exception show the lab's own errors) as plain text: the IPython
# traceback lexer fails on some messages (a backtick in stackstac's), and a failure is a warning.
nb_render_error_lexer = "text"
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# --- math: MathJax 3 from the site itself --------------------------------------------------
mathjax_path = "mathjax/tex-chtml.js"  # relative to _static/
mathjax3_config = {"options": {"menuOptions": {"settings": {"explorer": False}}}}

# --- HTML ----------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "Cloud remote sensing lab"
html_static_path = ["_static"]
html_last_updated_fmt = None
html_copy_source = True  # the download button offers each page's .ipynb / .md
html_show_sourcelink = False
html_use_index = False  # no index entries: an empty genindex page helps nobody
# The theme logs an error on every first visit unless a default colour mode is set; light suits
# matplotlib's white figures.
html_context = {"default_mode": "light"}
html_theme_options = {
    "use_download_button": True,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "launch_buttons": {},
    "show_toc_level": 2,
    "home_page_in_toc": True,
    "extra_footer": "Text and figures: CC BY 4.0. Code: MIT. This site loads nothing from outside itself.",
}
# A broken page fails the build: labhelpers book passes -W --keep-going (warnings are errors).

if tags.has("instructor"):  # noqa: F821 (tags is injected by Sphinx)
    html_title += " (instructor edition)"
