"""Deployment artefacts generated from the registry (the files themselves live in deploy/).

- :mod:`smartpark.deploy.acl`: the mosquitto ACL that confines each gateway to its topics.
"""
