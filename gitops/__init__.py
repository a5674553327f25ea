"""GitOps: the fleet as Argo CD sees it (rendered manifests per cell, Applications, AppProjects, ApplicationSet).

Pure renderers of the typed models; the tool (`fleet build`, `fleet gitops`) writes the files.
"""
