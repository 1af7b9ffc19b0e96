"""Everything flowgen knows about AWS: the deployment plan (`plan`), the platform's
limits (`limits`) and the checks that hold a spec to them (`checks`)."""
