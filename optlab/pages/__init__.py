"""One package per page (``optlab.shell.navigation`` lists them): ``page.py`` renders,
``controls.py`` reads the widgets, ``compute.py`` holds its cached computations, ``view.py``
its figures. Pages never import each other."""
