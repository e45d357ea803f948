"""The offline plan engine: the Pulumi program under Pulumi's mock runtime, recorded."""
