"""Use cases by domain; shells (CLI, web) call these, these call the store and the pure layers."""
