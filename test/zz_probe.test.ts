import * as torch from '../lib';
import { SiameseNetwork, APP_MATCHER } from '../scripts/examples/siamese-network';
import { resnet18 } from '../scripts/examples/resnet';
import { PythonRandom } from '../scripts/examples/python-random';
test('probe', () => {
  let b = torch.memory().liveTensors;
  const r = resnet18(); r.dispose(); console.log('resnet', torch.memory().liveTensors - b);
  b = torch.memory().liveTensors;
  const m = new SiameseNetwork(); m.dispose(); console.log('siamese', torch.memory().liveTensors - b);
  b = torch.memory().liveTensors;
  const ds = new APP_MATCHER(torch.zeros([20, 28, 28], { dtype: 'uint8' }), torch.arange(20).remainder(10), new PythonRandom(1));
  const loader = new torch.data.DataLoader(ds, { batchSize: 8 });
  for (const batch of loader) for (const t of batch) t.dispose();
  ds.dispose(); console.log('loader', torch.memory().liveTensors - b);
});
