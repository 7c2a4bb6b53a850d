"""Deploy and register the ASR Mobility service with Ansible, driven through ansible-runner.

``inventory`` renders the stack's machines as an Ansible inventory, ``outcome`` turns runner events into one result
per host, ``driver`` runs ``playbooks/mobility.yml`` with the configuration-server passphrase kept in memory.
"""
