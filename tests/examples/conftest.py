# The Django project's test files are run by their own runners (tests/examples/test_django_shop.py
# runs Django's and pytest-django's), with the project's settings; collected here they would
# have none.
collect_ignore = ["django_shop"]
