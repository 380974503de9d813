// torch.nn: functional ops, modules and utilities.
import * as functional from './functional';
export { functional };
