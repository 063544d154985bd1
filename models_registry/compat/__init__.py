"""What exists only for the services Atlas replaced (docs/COMPATIBILITY.md): taking over their deployments.

- `adoption`: registering a bucket the threat-intelligence service filled (`manage.py adopt_store`);
- `bootstrap`: a fresh deployment of the MNIST service, from its Hub repo (`manage.py adopt_hf`, worker start);
- `sidecar`: the MNIST service's `.json` beside a network, read as a version's metrics and metadata.

They write only through models_registry.services; nothing of the registry's core imports them.
"""
