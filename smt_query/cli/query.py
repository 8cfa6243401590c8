import click

@click.command()
@click.argument("labels", nargs=-1)
def query(labels):
    """Find records."""
    import sys
    click.echo(f"django loaded: {'django' in sys.modules}")
