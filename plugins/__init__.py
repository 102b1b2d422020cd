"""Built-in plugins. Each is registered through the ``registry_image`` entry
point group, exactly as a third-party plugin is."""
