"""Pages in: files of a Jekyll, Hugo, Astro or plain site become checked Page objects."""
